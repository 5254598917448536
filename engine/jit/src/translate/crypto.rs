use super::*;

impl Tr<'_> {
    /// For AESE/AESD (`imm` 0/1) at op `i` defining `t`: the AESMC/AESIMC right after
    /// it that is the only user of `t` (its index and result), to fuse with it.
    pub(super) fn aes_pair(&self, i: usize, t: Temp, imm: u64) -> Option<(usize, Temp)> {
        let j = (i + 1..self.b.ops.len()).find(|&k| !matches!(self.b.ops[k], Op::Insn { .. }))?;
        match self.b.ops[j] {
            Op::Call {
                dst: Some(d),
                helper,
                args,
                imm: m,
                ..
            } if helper.name == "crypto::aes"
                && m == imm + 2
                && args[1] == t
                && self.last[t.0 as usize] == j =>
            {
                Some((j, d))
            }
            _ => None,
        }
    }

    /// SHA256H/H2/SU0/SU1 on the SHA extensions.
    pub(super) fn sha(&mut self, dst: Temp, h: &Helper, args: [Temp; 3], imm: u64) {
        const PSHUFD: &[u8] = &[0x0f, 0x70];
        const PALIGNR: &[u8] = &[0x0f, 0x3a, 0x0f];
        const PBLENDW: &[u8] = &[0x0f, 0x3a, 0x0e];
        const MOVDQA: &[u8] = &[0x0f, 0x6f];
        const RNDS2: &[u8] = &[0x0f, 0x38, 0xcb];
        if h.name == "crypto::sha256x" {
            use a64::crypto::lower as cl;
            let out = match imm {
                cl::SHA256X_ABEF | cl::SHA256X_CDGH => {
                    // ABCD = [A, B, C, D], EFGH = [E, F, G, H] (dword 0 first):
                    // ABEF = [F, E, B, A], CDGH = [H, G, D, C].
                    self.xmm_load(1, args[0]);
                    self.xmm_load(2, args[1]);
                    self.a.sse_rri(PSHUFD, 1, 1, 0xb1); // [B, A, D, C]
                    self.a.sse_rri(PSHUFD, 2, 2, 0x1b); // [H, G, F, E]
                    if imm == cl::SHA256X_ABEF {
                        self.a.sse_rri(PALIGNR, 1, 2, 8);
                    } else {
                        self.a.sse_rri(PBLENDW, 2, 1, 0xf0);
                        self.a.sse_rr(MOVDQA, 1, 2);
                    }
                    1
                }
                cl::SHA256X_RNDS2_LO | cl::SHA256X_RNDS2_HI => {
                    self.xmm_load(0, args[2]);
                    if imm == cl::SHA256X_RNDS2_HI {
                        self.a.sse_rri(PSHUFD, 0, 0, 0x0e);
                    }
                    self.xmm_load(1, args[0]);
                    self.xmm_load(2, args[1]);
                    self.a.sse_np_rr(RNDS2, 1, 2);
                    1
                }
                _ => {
                    // (ABEF, CDGH) -> [A, B, E, F], [G, H, C, D] -> ABCD or EFGH.
                    self.xmm_load(1, args[0]);
                    self.xmm_load(2, args[1]);
                    self.a.sse_rri(PSHUFD, 1, 1, 0x1b);
                    self.a.sse_rri(PSHUFD, 2, 2, 0xb1);
                    if imm == cl::SHA256X_ABCD {
                        self.a.sse_rri(PBLENDW, 1, 2, 0xf0);
                    } else {
                        self.a.sse_rri(PALIGNR, 2, 1, 8);
                        self.a.sse_rr(MOVDQA, 1, 2);
                    }
                    1
                }
            };
            self.xdef(dst, out);
            return;
        }
        let out = if h.name == "crypto::sha2" {
            // SHA256SU0 (d, n) = SHA256MSG1(d, n).
            self.xmm_load(1, args[0]);
            self.xmm_load(2, args[1]);
            self.a.sse_np_rr(&[0x0f, 0x38, 0xcc], 1, 2);
            1
        } else if imm == 6 {
            // SHA256SU1 (d, n, m) = SHA256MSG2(d + (m:n >> 32 bits), m).
            self.xmm_load(1, args[0]);
            self.xmm_load(2, args[1]);
            self.xmm_load(3, args[2]);
            self.a.sse_rr(MOVDQA, 4, 3);
            self.a.sse_rri(PALIGNR, 4, 2, 4);
            self.a.sse_rr(&[0x0f, 0xfe], 1, 4);
            self.a.sse_np_rr(&[0x0f, 0x38, 0xcd], 1, 3);
            1
        } else {
            // SHA256H: (ABCD = d, EFGH = n) -> ABCD'; SHA256H2: (ABCD = n, EFGH = d) -> EFGH'.
            let (abcd, efgh) = if imm == 4 {
                (args[0], args[1])
            } else {
                (args[1], args[0])
            };
            self.xmm_load(1, abcd);
            self.xmm_load(2, efgh);
            self.a.sse_rri(PSHUFD, 1, 1, 0xb1);
            self.a.sse_rri(PSHUFD, 2, 2, 0x1b);
            self.a.sse_rr(MOVDQA, 3, 1);
            self.a.sse_rri(PALIGNR, 3, 2, 8); // ABEF
            self.a.sse_rri(PBLENDW, 2, 1, 0xf0); // CDGH
            self.xmm_load(0, args[2]);
            self.a.sse_np_rr(RNDS2, 2, 3);
            self.a.sse_rri(PSHUFD, 0, 0, 0x0e);
            self.a.sse_np_rr(RNDS2, 3, 2);
            // xmm3 = ABEF, xmm2 = CDGH: back to ABCD / EFGH.
            self.a.sse_rri(PSHUFD, 1, 3, 0x1b);
            self.a.sse_rri(PSHUFD, 2, 2, 0xb1);
            self.a.sse_rr(MOVDQA, 4, 1);
            self.a.sse_rri(PBLENDW, 4, 2, 0xf0); // ABCD
            self.a.sse_rri(PALIGNR, 2, 1, 8); // EFGH
            if imm == 4 {
                4
            } else {
                2
            }
        };
        self.xdef(dst, out);
    }

    /// Inline AESE/AESD/AESMC/AESIMC (op `i`), fused with a following AESMC/AESIMC of
    /// its result when [`Self::aes_pair`] finds one.
    pub(super) fn aes(&mut self, i: usize, dst: Temp, args: [Temp; 3], imm: u64) {
        // AESE = AESENCLAST(d ^ n, 0); AESD = AESDECLAST(d ^ n, 0);
        // AESMC = AESENC(AESDECLAST(n, 0), 0); AESIMC = AESIMC(n).
        // AESE + AESMC of its result = AESENC(d ^ n, 0), AESD + AESIMC =
        // AESDEC(d ^ n, 0).
        const PXOR: &[u8] = &[0x0f, 0xef];
        if imm >= a64::crypto::lower::AES_ROUND_KEY {
            // The rewritten rounds (`a64::crypto::lower::fuse_aes_rounds`):
            // AESENC(x, key), AESENCLAST(x, 0), AESENC(x, 0).
            self.xmm_load(0, args[0]);
            self.x0_dirty = true;
            if imm == a64::crypto::lower::AES_ROUND_KEY {
                self.xmm_load(1, args[1]);
            } else {
                self.a.sse_rr(PXOR, 1, 1);
            }
            let last = imm == a64::crypto::lower::AES_SUB_SHIFT;
            self.a
                .sse_rr(&[0x0f, 0x38, if last { 0xdd } else { 0xdc }], 0, 1);
            self.xdef(dst, 0);
            self.x0 = Some(dst.0);
            return;
        }
        let pair = if imm <= 1 {
            self.aes_pair(i, dst, imm)
        } else {
            None
        };
        let dst = pair.map_or(dst, |(_, d)| d);
        self.xmm_load(0, args[1]);
        if imm <= 1 {
            self.xmm_load(1, args[0]);
            self.a.sse_rr(PXOR, 0, 1);
        }
        self.x0_dirty = true;
        self.a.sse_rr(PXOR, 1, 1);
        match (imm, pair) {
            (0, Some(_)) => self.a.sse_rr(&[0x0f, 0x38, 0xdc], 0, 1),
            (1, Some(_)) => self.a.sse_rr(&[0x0f, 0x38, 0xde], 0, 1),
            _ => {}
        }
        if let Some((j, _)) = pair {
            self.skip = Some(j);
            self.xdef(dst, 0);
            self.x0 = Some(dst.0);
            return;
        }
        match imm {
            0 => self.a.sse_rr(&[0x0f, 0x38, 0xdd], 0, 1),
            1 => self.a.sse_rr(&[0x0f, 0x38, 0xdf], 0, 1),
            2 => {
                self.a.sse_rr(&[0x0f, 0x38, 0xdf], 0, 1);
                self.a.sse_rr(&[0x0f, 0x38, 0xdc], 0, 1);
            }
            _ => self.a.sse_rr(&[0x0f, 0x38, 0xdb], 0, 0),
        }
        self.xdef(dst, 0);
        self.x0 = Some(dst.0);
    }
}
