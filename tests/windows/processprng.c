/* bcryptprimitives.dll for the Wine tests only; never shipped.
 *
 * Rust's standard library asks bcryptprimitives.dll for ProcessPrng, which Windows 10 and 11
 * have. Debian 12's Wine 8 lacks the DLL, so a Windows binary run under it stops before
 * main. Placed beside the binary under test, this supplies ProcessPrng from advapi32's
 * RtlGenRandom (SystemFunction036), which Wine has.
 *
 * Built by tests/it/windows.rs: x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll
 * processprng.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
