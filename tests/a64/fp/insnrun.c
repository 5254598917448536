/* Single-instruction differential harness for the a64 FP lowering.
 * stdin: binary records { u32 insn; u32 pad; u64 v[64] (lo,hi per Q reg); u64 x[16];
 *                         u64 nzcv; u64 fpcr; u64 fpsr }.
 * For each record: load V0-V31, X0-X15, NZCV, FPCR, clear FPSR, execute the instruction,
 * store the state back; fpsr's bit 63 is set if the instruction raised SIGILL.
 * stdout: the same records after execution.
 * Build: aarch64-linux-gnu-gcc -O2 -static insnrun.c -o insnrun ; run: qemu-aarch64 -cpu cortex-a57 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

struct rec {
  uint32_t insn, pad;
  uint64_t v[64];
  uint64_t x[16];
  uint64_t nzcv, fpcr, fpsr;
};

void run_insn(struct rec *r, void *code);
asm(".text\n.global run_insn\nrun_insn:\n"
    "stp x29, x30, [sp, #-176]!\n"
    "stp x19, x20, [sp, #16]\n stp d8, d9, [sp, #32]\n stp d10, d11, [sp, #48]\n"
    "stp d12, d13, [sp, #64]\n stp d14, d15, [sp, #80]\n stp x21, x22, [sp, #96]\n"
    "mov x19, x0\n mov x17, x1\n add x20, x19, #8\n"
    "ldp q0, q1, [x20, #0]\n ldp q2, q3, [x20, #32]\n ldp q4, q5, [x20, #64]\n ldp q6, q7, [x20, #96]\n"
    "ldp q8, q9, [x20, #128]\n ldp q10, q11, [x20, #160]\n ldp q12, q13, [x20, #192]\n ldp q14, q15, [x20, #224]\n"
    "ldp q16, q17, [x20, #256]\n ldp q18, q19, [x20, #288]\n ldp q20, q21, [x20, #320]\n ldp q22, q23, [x20, #352]\n"
    "ldp q24, q25, [x20, #384]\n ldp q26, q27, [x20, #416]\n ldp q28, q29, [x20, #448]\n ldp q30, q31, [x20, #480]\n"
    "add x20, x19, #520\n"
    "ldr x0, [x20, #128]\n msr nzcv, x0\n ldr x0, [x20, #136]\n msr fpcr, x0\n msr fpsr, xzr\n"
    "ldp x0, x1, [x20, #0]\n ldp x2, x3, [x20, #16]\n ldp x4, x5, [x20, #32]\n ldp x6, x7, [x20, #48]\n"
    "ldp x8, x9, [x20, #64]\n ldp x10, x11, [x20, #80]\n ldp x12, x13, [x20, #96]\n ldp x14, x15, [x20, #112]\n"
    "blr x17\n"
    "add x20, x19, #520\n"
    "stp x0, x1, [x20, #0]\n stp x2, x3, [x20, #16]\n stp x4, x5, [x20, #32]\n stp x6, x7, [x20, #48]\n"
    "stp x8, x9, [x20, #64]\n stp x10, x11, [x20, #80]\n stp x12, x13, [x20, #96]\n stp x14, x15, [x20, #112]\n"
    "mrs x0, nzcv\n str x0, [x20, #128]\n mrs x0, fpsr\n str x0, [x20, #144]\n msr fpcr, xzr\n"
    "add x20, x19, #8\n"
    "stp q0, q1, [x20, #0]\n stp q2, q3, [x20, #32]\n stp q4, q5, [x20, #64]\n stp q6, q7, [x20, #96]\n"
    "stp q8, q9, [x20, #128]\n stp q10, q11, [x20, #160]\n stp q12, q13, [x20, #192]\n stp q14, q15, [x20, #224]\n"
    "stp q16, q17, [x20, #256]\n stp q18, q19, [x20, #288]\n stp q20, q21, [x20, #320]\n stp q22, q23, [x20, #352]\n"
    "stp q24, q25, [x20, #384]\n stp q26, q27, [x20, #416]\n stp q28, q29, [x20, #448]\n stp q30, q31, [x20, #480]\n"
    "ldp x19, x20, [sp, #16]\n ldp d8, d9, [sp, #32]\n ldp d10, d11, [sp, #48]\n"
    "ldp d12, d13, [sp, #64]\n ldp d14, d15, [sp, #80]\n ldp x21, x22, [sp, #96]\n"
    "ldp x29, x30, [sp], #176\n ret\n");

static volatile int undef_hit;
static void on_ill(int sig, siginfo_t *si, void *uc_) {
  (void)sig; (void)si;
  ucontext_t *uc = uc_;
  undef_hit = 1;
  uc->uc_mcontext.pc += 4;
}

int main(void) {
  size_t cap = 1024, n = 0;
  struct rec *recs = malloc(cap * sizeof *recs);
  while (fread(&recs[n], sizeof *recs, 1, stdin) == 1) {
    if (++n == cap) { cap *= 2; recs = realloc(recs, cap * sizeof *recs); }
  }
  uint32_t *code = mmap(0, (n * 8 + 4095) & ~4095UL, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 1; }
  for (size_t i = 0; i < n; i++) { code[2 * i] = recs[i].insn; code[2 * i + 1] = 0xd65f03c0; }
  __builtin___clear_cache((char *)code, (char *)(code + 2 * n));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_ill;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGILL, &sa, 0);
  for (size_t i = 0; i < n; i++) {
    undef_hit = 0;
    run_insn(&recs[i], &code[2 * i]);
    if (undef_hit) recs[i].fpsr |= 1ULL << 63;
  }
  fwrite(recs, sizeof *recs, n, stdout);
  return 0;
}
