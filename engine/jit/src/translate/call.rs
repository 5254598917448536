//! `Op::Call` lowering: the one place that decides, per helper, whether a call is
//! emitted inline (AdvSIMD in [`super::simd`], crypto in [`super::crypto`]) or as a call
//! to the generic helper trampoline. New inline lowerings hook in here.

use super::*;

impl Tr<'_> {
    /// Lowers `Op::Call` (op `i`, which must be one): inline when [`inline_helper`] says
    /// so, otherwise a call through `Rt::helper`.
    pub(super) fn call(&mut self, i: usize) {
        let Op::Call {
            dst,
            helper,
            args,
            nargs,
            imm,
        } = self.b.ops[i]
        else {
            return;
        };
        if let Some(dst) = dst.filter(|_| inline_helper(helper, imm, self.env.feats)) {
            if helper.name == "crypto::aes" {
                self.aes(i, dst, args, imm)
            } else if host_crypto::inline(helper, imm, self.env.feats) {
                self.host_crypto(dst, helper, args, imm)
            } else if simd_int::inline(helper, imm, self.env.feats) {
                self.simd_int(dst, helper, args, imm)
            } else if helper.name.starts_with("simd::") {
                self.simd(dst, helper, args, imm)
            } else if helper.name.starts_with("fp::") {
                self.host_fp(i, dst, helper, args, nargs, imm)
            } else {
                self.sha(dst, helper, args, imm)
            }
            return;
        }
        // Out of line, through `Rt::helper`.
        let f = self.env.rt.helper;
        let h = helper as *const Helper as u64;
        self.call_site(
            i,
            dst,
            f,
            |s| {
                for (k, &t) in args.iter().enumerate().take(nargs.min(3) as usize) {
                    s.put16(t, m(R::R12, off::ARGS + 16 * k as i32));
                }
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, h);
                s.a.mov_ri(R::RDX, imm);
            },
            |s| {
                if let Some(d) = dst {
                    s.take16(d, m(R::R12, off::RET));
                }
            },
        );
    }
}
