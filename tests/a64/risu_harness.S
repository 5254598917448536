// RISU-style harness for random-instruction differential tests (see tests/tests/a64_risu.rs).
// Built once with: aarch64-linux-gnu-gcc -nostdlib -static -o risu_harness risu_harness.S
// The test patches, in the ELF file:
//   * the 64-word NOP run `test_code` with the random instructions (rest stays NOP);
//   * the `init` block after the "RISUINIT" magic: X0..X30 (X27, X28 and SP are set by
//     the harness: X28 = SP = scratch + 8192, X27 index register keeps its init value),
//     NZCV, V0..V31, and the 16 KiB scratch image.
// Output on stdout: X0..X30, NZCV, FPSR, V0..V31 (binary, little-endian), then the scratch.
        .text
        .global _start
_start:
        // scratch <- scratch_init
        adrp    x0, scratch_init
        add     x0, x0, :lo12:scratch_init
        adrp    x1, scratch
        add     x1, x1, :lo12:scratch
        mov     x2, #16384
1:      ldp     x3, x4, [x0], #16
        stp     x3, x4, [x1], #16
        subs    x2, x2, #16
        b.ne    1b
        // X28 = SP = scratch + 8192
        adrp    x1, scratch
        add     x1, x1, :lo12:scratch
        add     x1, x1, #8192
        mov     sp, x1
        adrp    x0, init_x
        add     x0, x0, :lo12:init_x
        str     x1, [x0, #28*8]
        // V registers
        adrp    x2, init_v
        add     x2, x2, :lo12:init_v
        ldp     q0, q1, [x2, #0]
        ldp     q2, q3, [x2, #32]
        ldp     q4, q5, [x2, #64]
        ldp     q6, q7, [x2, #96]
        ldp     q8, q9, [x2, #128]
        ldp     q10, q11, [x2, #160]
        ldp     q12, q13, [x2, #192]
        ldp     q14, q15, [x2, #224]
        ldp     q16, q17, [x2, #256]
        ldp     q18, q19, [x2, #288]
        ldp     q20, q21, [x2, #320]
        ldp     q22, q23, [x2, #352]
        ldp     q24, q25, [x2, #384]
        ldp     q26, q27, [x2, #416]
        ldp     q28, q29, [x2, #448]
        ldp     q30, q31, [x2, #480]
        msr     fpsr, xzr
        msr     fpcr, xzr
        ldr     x2, [x0, #31*8]
        msr     nzcv, x2
        ldp     x1, x2, [x0, #8]
        ldp     x3, x4, [x0, #24]
        ldp     x5, x6, [x0, #40]
        ldp     x7, x8, [x0, #56]
        ldp     x9, x10, [x0, #72]
        ldp     x11, x12, [x0, #88]
        ldp     x13, x14, [x0, #104]
        ldp     x15, x16, [x0, #120]
        ldp     x17, x18, [x0, #136]
        ldp     x19, x20, [x0, #152]
        ldp     x21, x22, [x0, #168]
        ldp     x23, x24, [x0, #184]
        ldp     x25, x26, [x0, #200]
        ldp     x27, x28, [x0, #216]
        ldp     x29, x30, [x0, #232]
        ldr     x0, [x0]
test_code:
        .rept 64
        nop
        .endr
save:
        msr     tpidr_el0, x0
        adrp    x0, out
        add     x0, x0, :lo12:out
        stp     x1, x2, [x0, #8]
        stp     x3, x4, [x0, #24]
        stp     x5, x6, [x0, #40]
        stp     x7, x8, [x0, #56]
        stp     x9, x10, [x0, #72]
        stp     x11, x12, [x0, #88]
        stp     x13, x14, [x0, #104]
        stp     x15, x16, [x0, #120]
        stp     x17, x18, [x0, #136]
        stp     x19, x20, [x0, #152]
        stp     x21, x22, [x0, #168]
        stp     x23, x24, [x0, #184]
        stp     x25, x26, [x0, #200]
        stp     x27, x28, [x0, #216]
        stp     x29, x30, [x0, #232]
        mrs     x1, tpidr_el0
        str     x1, [x0]
        mrs     x1, nzcv
        str     x1, [x0, #248]
        mrs     x1, fpsr
        str     x1, [x0, #256]
        add     x2, x0, #264
        stp     q0, q1, [x2, #0]
        stp     q2, q3, [x2, #32]
        stp     q4, q5, [x2, #64]
        stp     q6, q7, [x2, #96]
        stp     q8, q9, [x2, #128]
        stp     q10, q11, [x2, #160]
        stp     q12, q13, [x2, #192]
        stp     q14, q15, [x2, #224]
        stp     q16, q17, [x2, #256]
        stp     q18, q19, [x2, #288]
        stp     q20, q21, [x2, #320]
        stp     q22, q23, [x2, #352]
        stp     q24, q25, [x2, #384]
        stp     q26, q27, [x2, #416]
        stp     q28, q29, [x2, #448]
        stp     q30, q31, [x2, #480]
        // write(1, out, 776); write(1, scratch, 16384); exit(0)
        mov     x8, #64
        mov     x0, #1
        adrp    x1, out
        add     x1, x1, :lo12:out
        mov     x2, #776
        svc     #0
        mov     x8, #64
        mov     x0, #1
        adrp    x1, scratch
        add     x1, x1, :lo12:scratch
        mov     x2, #16384
        svc     #0
        mov     x8, #93
        mov     x0, #0
        svc     #0

        .data
        .balign 16
        .ascii  "RISUINIT"
        .quad   0
init_x: .fill   32, 8, 0        // X0..X30, NZCV
init_v: .fill   64, 8, 0        // V0..V31
scratch_init:
        .fill   2048, 8, 0
        .bss
        .balign 16
out:    .skip   776
        .balign 16
scratch: .skip  16384
