/* printf/snprintf of many integer and string formats, strtol family, sscanf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

int main(void) {
    printf("[%d] [%i] [%u] [%x] [%X] [%o]\n", -42, 42, 42u, 0xbeefu, 0xbeefu, 0755u);
    printf("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%8.3d]\n", 42, 42, 42, 42, 42, 7, 7);
    printf("[%ld] [%lld] [%lu] [%llx] [%#llx] [%#o] [%#x]\n", LONG_MIN, LLONG_MAX, ULONG_MAX, 0x123456789abcdefULL, 0xdeadULL, 8u, 0u);
    printf("[%hhd] [%hhu] [%hd] [%hu] [%zu] [%zd] [%td]\n", (char)200, (unsigned char)200, (short)40000, (unsigned short)40000, sizeof(long double), (ssize_t)-5, (ptrdiff_t)-9);
    printf("[%" PRId64 "] [%" PRIu32 "] [%" PRIx16 "] [%" PRIo8 "]\n", INT64_MIN, UINT32_MAX, (uint16_t)0xabcd, (uint8_t)255);
    printf("[%c] [%5c] [%-3c] [%s] [%10s] [%-10s] [%.3s] [%*d] [%-*d] [%.*s]\n", 'A', 'b', 'c', "str", "right", "left", "truncate", 6, 9, 6, 9, 2, "xyz");
    printf("[%%] [%n]\n", &(int){0});
    char buf[256];
    int n = snprintf(buf, 10, "%s-%d-%s", "abcdef", 123456, "tail");
    printf("snprintf -> %d [%s]\n", n, buf);
    for (int base = 2; base <= 36; base += 7) {
        char *end;
        long v = strtol("-zz1101xyz", &end, base);
        unsigned long long u = strtoull("18446744073709551615", NULL, 10);
        printf("strtol base %d: %ld rest '%s' %llu\n", base, v, end, u);
    }
    printf("atoi %d atol %ld strtol ovf %ld\n", atoi("  -123abc"), atol("99999999999"), strtol("999999999999999999999", NULL, 10));
    int a, b; char w[32]; unsigned x;
    int got = sscanf("17 -4 word 0x1f", "%d %d %31s %x", &a, &b, w, &x);
    printf("sscanf %d: %d %d %s %u\n", got, a, b, w, x);
    for (int i = -3; i <= 3; i++) printf("%d:%+05d:%x ", i, i * 1000, (unsigned)i);
    printf("\n");
    long long big = 1;
    for (int i = 0; i < 63; i++) { printf("%lld ", big); big *= 2; if (i % 8 == 7) printf("\n"); }
    printf("\n");
    return 0;
}
