//! Unit tests of the softfloat library against known values and the host FPU
//! (round-to-nearest, no NaN payload checks: only the test uses host floating point).

use super::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn d(x: f64) -> u64 {
    x.to_bits()
}

#[test]
fn known_values() {
    let mut fpsr = 0;
    assert_eq!(add(Fmt::D, d(1.0), d(2.0), 0, &mut fpsr), d(3.0));
    assert_eq!(fpsr, 0);
    assert_eq!(
        add(Fmt::D, d(0.1), d(0.2), 0, &mut fpsr),
        0x3FD3_3333_3333_3334
    );
    assert_eq!(fpsr, FPSR_IXC);
    fpsr = 0;
    assert_eq!(div(Fmt::S, 0x3f80_0000, 0, 0, &mut fpsr), 0x7f80_0000);
    assert_eq!(fpsr, FPSR_DZC);
    fpsr = 0;
    assert_eq!(sqrt(Fmt::D, d(2.0), 0, &mut fpsr), d(2f64.sqrt()));
    // -0 + -0 = -0; x - x = +0 except in RM.
    assert_eq!(add(Fmt::D, d(-0.0), d(-0.0), 0, &mut fpsr), d(-0.0));
    assert_eq!(sub(Fmt::D, d(5.0), d(5.0), 0, &mut fpsr), d(0.0));
    assert_eq!(sub(Fmt::D, d(5.0), d(5.0), 2 << 22, &mut fpsr), d(-0.0));
    // Signalling NaN wins over quiet NaN and is quietened.
    fpsr = 0;
    assert_eq!(
        add(Fmt::S, 0x7fc0_0001, 0x7f80_0002, 0, &mut fpsr),
        0x7fc0_0002
    );
    assert_eq!(fpsr, FPSR_IOC);
    // Default NaN.
    assert_eq!(add(Fmt::S, 0x7fc0_0001, 0, FPCR_DN, &mut fpsr), 0x7fc0_0000);
    // FZ: denormal input flushed (IDC), tiny result flushed (UFC, no IXC).
    fpsr = 0;
    assert_eq!(add(Fmt::S, 1, 0x3f80_0000, FPCR_FZ, &mut fpsr), 0x3f80_0000);
    assert_eq!(fpsr, FPSR_IDC);
    fpsr = 0;
    assert_eq!(mul(Fmt::S, 0x0080_0000, 0x3f00_0000, FPCR_FZ, &mut fpsr), 0);
    assert_eq!(fpsr, FPSR_UFC);
    // Tininess before rounding: min-normal * (1 - 2^-24) rounds up to min normal, but UFC.
    fpsr = 0;
    assert_eq!(
        mul(Fmt::S, 0x0080_0000, 0x3f7f_ffff, 0, &mut fpsr),
        0x0080_0000
    );
    assert_eq!(fpsr, FPSR_UFC | FPSR_IXC);
    // Max/min with zeros and NM forms.
    assert_eq!(max(Fmt::D, d(-0.0), d(0.0), 0, &mut fpsr), d(0.0));
    assert_eq!(min(Fmt::D, d(0.0), d(-0.0), 0, &mut fpsr), d(-0.0));
    assert_eq!(
        maxnm(Fmt::D, 0x7ff8_0000_0000_0000, d(-3.0), 0, &mut fpsr),
        d(-3.0)
    );
    // Compares.
    assert_eq!(compare(Fmt::D, d(1.0), d(2.0), false, 0, &mut fpsr), 0b1000);
    assert_eq!(
        compare(Fmt::D, d(0.0), d(-0.0), false, 0, &mut fpsr),
        0b0110
    );
    fpsr = 0;
    assert_eq!(
        compare(Fmt::D, d(f64::NAN), d(2.0), false, 0, &mut fpsr),
        0b0011
    );
    assert_eq!(fpsr, 0);
    assert_eq!(
        compare(Fmt::D, d(f64::NAN), d(2.0), true, 0, &mut fpsr),
        0b0011
    );
    assert_eq!(fpsr, FPSR_IOC);
    // Round to integral.
    fpsr = 0;
    assert_eq!(
        round_int(Fmt::D, d(2.5), Rounding::TieEven, false, 0, &mut fpsr),
        d(2.0)
    );
    assert_eq!(
        round_int(Fmt::D, d(2.5), Rounding::TieAway, false, 0, &mut fpsr),
        d(3.0)
    );
    assert_eq!(
        round_int(Fmt::D, d(-0.3), Rounding::TieEven, false, 0, &mut fpsr),
        d(-0.0)
    );
    assert_eq!(fpsr, 0);
    assert_eq!(
        round_int(Fmt::D, d(-1.5), Rounding::PosInf, true, 0, &mut fpsr),
        d(-1.0)
    );
    assert_eq!(fpsr, FPSR_IXC);
    // Conversions to integers saturate with IOC.
    fpsr = 0;
    assert_eq!(
        to_fixed(Fmt::D, d(-1.0), 0, true, 32, Rounding::Zero, 0, &mut fpsr),
        0
    );
    assert_eq!(fpsr, FPSR_IOC);
    fpsr = 0;
    assert_eq!(
        to_fixed(Fmt::D, d(1e30), 0, false, 32, Rounding::Zero, 0, &mut fpsr),
        0x7fff_ffff
    );
    assert_eq!(
        to_fixed(Fmt::D, d(-1e30), 0, false, 64, Rounding::Zero, 0, &mut fpsr),
        1 << 63
    );
    assert_eq!(
        to_fixed(
            Fmt::D,
            d(-2.5),
            0,
            false,
            32,
            Rounding::TieAway,
            0,
            &mut fpsr
        ),
        0xffff_fffd
    );
    assert_eq!(
        to_fixed(Fmt::D, d(1.75), 4, false, 32, Rounding::Zero, 0, &mut fpsr),
        28
    );
    assert_eq!(
        from_fixed(
            Fmt::D,
            u64::MAX,
            0,
            false,
            64,
            Rounding::TieEven,
            0,
            &mut fpsr
        ),
        d(-1.0)
    );
    assert_eq!(
        from_fixed(
            Fmt::D,
            u64::MAX,
            0,
            true,
            64,
            Rounding::TieEven,
            0,
            &mut fpsr
        ),
        d(18446744073709551616.0)
    );
    assert_eq!(
        from_fixed(Fmt::S, 3, 1, false, 32, Rounding::TieEven, 0, &mut fpsr),
        0x3fc0_0000
    );
    // Conversions between precisions, incl. half and round-to-odd.
    assert_eq!(
        convert(Fmt::S, Fmt::H, 0x3f80_0000, Rounding::TieEven, 0, &mut fpsr),
        0x3c00
    );
    assert_eq!(
        convert(Fmt::H, Fmt::D, 0x7c00, Rounding::TieEven, 0, &mut fpsr),
        d(f64::INFINITY)
    );
    assert_eq!(
        convert(
            Fmt::H,
            Fmt::S,
            0x0001,
            Rounding::TieEven,
            FPCR_FZ,
            &mut fpsr
        ),
        0x3380_0000
    );
    assert_eq!(
        convert(
            Fmt::D,
            Fmt::S,
            0x7ff0_0000_0000_0001 | 1 << 40,
            Rounding::TieEven,
            0,
            &mut fpsr
        ),
        0x7fc0_0800
    );
    assert_eq!(
        convert(
            Fmt::D,
            Fmt::S,
            d(1.0 + f64::EPSILON),
            Rounding::Odd,
            0,
            &mut fpsr
        ),
        0x3f80_0001
    );
    // Estimates.
    assert_eq!(recpe(Fmt::S, 0x3f80_0000, 0, &mut fpsr), 0x3f7f_8000);
    assert_eq!(rsqrte(Fmt::S, 0x3f80_0000, 0, &mut fpsr), 0x3f7f_8000);
    assert_eq!(recpx(Fmt::D, d(3.0), 0, &mut fpsr), d(1.0));
    assert_eq!(recps(Fmt::D, d(2.0), d(0.5), 0, &mut fpsr), d(1.0));
    assert_eq!(rsqrts(Fmt::D, d(1.0), d(1.0), 0, &mut fpsr), d(1.0));
    assert_eq!(
        mulx(Fmt::D, d(f64::INFINITY), d(-0.0), 0, &mut fpsr),
        d(-2.0)
    );
}

#[test]
fn matches_host_in_round_to_nearest() {
    let mut r = Rng(77);
    let pick = |r: &mut Rng| -> f64 {
        let b = r.next();
        let e = (b >> 52) & 0x7ff;
        // avoid NaN/inf operands (host NaN payload rules differ)
        if e == 0x7ff {
            f64::from_bits(b & !(1 << 62))
        } else {
            f64::from_bits(b)
        }
    };
    for _ in 0..20000 {
        let (x, y, z) = (pick(&mut r), pick(&mut r), pick(&mut r));
        let mut fpsr = 0;
        let chk = |got: u64, want: f64, what: &str| {
            if want.is_nan() {
                assert!(f64::from_bits(got).is_nan(), "{what} {x:e} {y:e} {z:e}");
            } else {
                assert_eq!(got, want.to_bits(), "{what} {x:e} {y:e} {z:e}");
            }
        };
        chk(add(Fmt::D, d(x), d(y), 0, &mut fpsr), x + y, "add");
        chk(mul(Fmt::D, d(x), d(y), 0, &mut fpsr), x * y, "mul");
        chk(div(Fmt::D, d(x), d(y), 0, &mut fpsr), x / y, "div");
        chk(sqrt(Fmt::D, d(x), 0, &mut fpsr), x.sqrt(), "sqrt");
        chk(
            mul_add(Fmt::D, d(z), d(x), d(y), 0, &mut fpsr),
            x.mul_add(y, z),
            "fma",
        );
        let (xs, ys, zs) = (x as f32, y as f32, z as f32);
        let s = |v: f32| v.to_bits() as u64;
        let chk32 = |got: u64, want: f32, what: &str| {
            if want.is_nan() {
                assert!(f32::from_bits(got as u32).is_nan(), "{what}");
            } else {
                assert_eq!(got, s(want), "{what} {xs:e} {ys:e} {zs:e}");
            }
        };
        chk32(add(Fmt::S, s(xs), s(ys), 0, &mut fpsr), xs + ys, "add32");
        chk32(
            mul_add(Fmt::S, s(zs), s(xs), s(ys), 0, &mut fpsr),
            xs.mul_add(ys, zs),
            "fma32",
        );
        chk32(
            convert(Fmt::D, Fmt::S, d(x), Rounding::TieEven, 0, &mut fpsr),
            xs,
            "cvt",
        );
    }
}
