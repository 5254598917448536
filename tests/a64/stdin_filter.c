/* Reads stdin: counts lines/words/bytes, echoes lines reversed with a running checksum. */
#include <stdio.h>
#include <string.h>
#include <ctype.h>

int main(void) {
    char line[4096];
    long lines = 0, words = 0, bytes = 0;
    unsigned sum = 0;
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        bytes += (long)n;
        lines++;
        int inw = 0;
        for (size_t i = 0; i < n; i++) {
            if (isspace((unsigned char)line[i])) inw = 0;
            else if (!inw) { inw = 1; words++; }
            sum = sum * 131 + (unsigned char)line[i];
        }
        if (n && line[n - 1] == '\n') line[--n] = 0;
        for (size_t i = 0; i < n / 2; i++) { char t = line[i]; line[i] = line[n - 1 - i]; line[n - 1 - i] = t; }
        printf("%5ld %08x %s\n", lines, sum, line);
    }
    fprintf(stderr, "done\n");
    printf("%ld %ld %ld\n", lines, words, bytes);
    return lines > 0 ? 0 : 1;
}
