/* Loop-heavy benchmark for tests/a64/bench.sh: FNV-style hashing over a 4 KiB table. */
#include <stdio.h>
#include <stdint.h>
int main(void){ uint64_t h=1469598103934665603ull; uint32_t a[1024]; for(int i=0;i<1024;i++)a[i]=i*2654435761u;
 for(int r=0;r<20000;r++){ for(int i=0;i<1024;i++){ h^=a[i]; h*=1099511628211ull; a[i]+= (uint32_t)(h>>29) ^ (a[(i+1)&1023]<<3);} }
 printf("%llx\n",(unsigned long long)h); return 0;}
