/*
 * A stand-in bcryptprimitives.dll for Wine 8, which lacks it. Go 1.26
 * Windows binaries get their randomness from its ProcessPrng; this one
 * answers from advapi32's SystemFunction036 (RtlGenRandom), which Wine has.
 * Built with mingw by TestWindowsClientUnderWine into the Wine prefix's
 * system32. Test-only: never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
