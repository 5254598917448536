/* File system calls: create, write, lseek, read, fstat, directories, rename, unlink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <errno.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    if (chdir(dir) != 0) { perror("chdir"); return 2; }
    mkdir("sub", 0755);
    int fd = open("sub/data.bin", O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror("open"); return 3; }
    char buf[10000];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (char)(i * 7);
    printf("write %zd\n", write(fd, buf, sizeof buf));
    printf("lseek %ld\n", (long)lseek(fd, 1234, SEEK_SET));
    char rb[100];
    printf("read %zd first %d\n", read(fd, rb, sizeof rb), rb[0]);
    printf("pread %zd first %d\n", pread(fd, rb, 10, 9995), rb[0]);
    struct stat st;
    fstat(fd, &st);
    printf("size %ld reg %d\n", (long)st.st_size, S_ISREG(st.st_mode));
    close(fd);
    FILE *f = fopen("sub/text.txt", "w");
    for (int i = 0; i < 100; i++) fprintf(f, "line %d %s\n", i, i % 3 ? "foo" : "bar");
    fclose(f);
    f = fopen("sub/text.txt", "r");
    char line[64];
    int bars = 0;
    while (fgets(line, sizeof line, f)) bars += strstr(line, "bar") != NULL;
    fclose(f);
    printf("bars %d\n", bars);
    rename("sub/text.txt", "sub/renamed.txt");
    printf("stat old: %d errno %d\n", stat("sub/text.txt", &st), errno);
    printf("stat new: %d size %ld\n", stat("sub/renamed.txt", &st), (long)st.st_size);
    DIR *d = opendir("sub");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16) if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);
    printf("access %d %d\n", access("sub/renamed.txt", R_OK), access("sub/nothing", F_OK));
    unlink("sub/renamed.txt");
    unlink("sub/data.bin");
    printf("rmdir %d\n", rmdir("sub"));
    printf("open missing: %d errno %d\n", open("nope/nope", O_RDONLY), errno);
    return 0;
}
