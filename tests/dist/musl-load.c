/* Loads a native library the way Python's ctypes does (dlopen, RTLD_NOW: every symbol resolved)
 * and calls a uniffi function that takes no arguments and returns a uint32 (the contract
 * version). Built with musl-gcc, so it runs on musl's loader: it proves a musllinux wheel's
 * library links and answers on a musl system. Usage: musl-load LIB SYMBOL */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s LIB SYMBOL\n", argv[0]); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
    uint32_t (*f)(void) = (uint32_t (*)(void))dlsym(lib, argv[2]);
    if (!f) { fprintf(stderr, "dlsym: %s\n", dlerror()); return 1; }
    printf("%s() = %u\n", argv[2], f());
    return 0;
}
