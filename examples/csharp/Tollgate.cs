// Tollgate.cs: P/Invoke declarations of libtollgate (tollgate.h) for C#,
// and a small wrapper. The library is "tollgate": tollgate.dll on Windows,
// libtollgate.so on Linux (Mono and .NET add the prefix and suffix).
// Strings go in as UTF-16 (tg_open_w) or UTF-8 bytes, and come out as
// UTF-8; the decision's strings are freed by tg_decision_free.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Tollgate
{
    /// <summary>tg_status: 0 to 18 the gateway's statuses, 100 and up the library's.</summary>
    public enum Status
    {
        Ok = 0, NotFound = 1, MalformedKey = 2, Suspended = 3, Revoked = 4, Expired = 5, NoSeats = 6,
        FingerprintMismatch = 7, FingerprintRejected = 8, NotActivated = 9, ProductMismatch = 10,
        RateLimited = 11, ShopNotAllowed = 12, OrderConflict = 13, ServerError = 14,
        UnsupportedVersion = 15, BadRequest = 16, QuotaExceeded = 17, InstallCloned = 18,
        TrialUsed = 19, NoTrial = 20, BaseMissing = 21, ResetLimit = 22, RequestMismatch = 23,
        ErrInvalidArgument = 100, ErrInvalidUtf8 = 101, ErrBufferTooSmall = 102, ErrBadCard = 103,
        ErrState = 104, ErrInstallKeyDamaged = 105, ErrInvalidHandle = 106, ErrUnreachable = 107,
        ErrTimeout = 108, ErrConnection = 109, ErrWrongServer = 110, ErrWrongCard = 111, ErrInternal = 199,
    }

    /// <summary>tg_check_mode.</summary>
    public enum CheckMode { Policy = 0, Now = 1, Offline = 2 }

    /// <summary>tg_decision, as the library fills it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct NativeDecision
    {
        public uint Size;
        public int Allowed;
        public int Decided;
        public int Reason;
        public int Contact;
        public int ServerStatus;
        public int Level;
        public long LeaseExpiry;
        public long LicenseExpiry;
        public long OnlineBy;
        public IntPtr Message;
        public IntPtr Action;
        public IntPtr Warning;
        public IntPtr Entitlements;
        public UIntPtr EntitlementCount;
    }

    /// <summary>The functions of tollgate.h.</summary>
    public static class Native
    {
        const string Lib = "tollgate";

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr tg_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_abi_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr tg_status_name(int status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr tg_reason_name(int reason);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern UIntPtr tg_last_error(byte[] buf, UIntPtr size);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_open(byte[] cardPath, byte[] product, byte[] stateDir, out IntPtr lic);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_open_w([MarshalAs(UnmanagedType.LPWStr)] string cardPath,
            [MarshalAs(UnmanagedType.LPWStr)] string product, [MarshalAs(UnmanagedType.LPWStr)] string stateDir, out IntPtr lic);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_open_ex(IntPtr options, out IntPtr lic);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_activate(IntPtr lic, byte[] key, ref NativeDecision d);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_check(IntPtr lic, int mode, ref NativeDecision d);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void tg_decision_free(ref NativeDecision d);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_deactivate(IntPtr lic);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_fingerprint(IntPtr lic, byte[] buf, UIntPtr size, out UIntPtr needed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int tg_close(IntPtr lic);

        /// <summary>A NUL-terminated UTF-8 copy of s, for const char * arguments.</summary>
        public static byte[] Utf8(string s)
        {
            if (s == null) return null;
            var b = Encoding.UTF8.GetBytes(s);
            Array.Resize(ref b, b.Length + 1);
            return b;
        }

        /// <summary>The UTF-8 string at p, or "" for NULL.</summary>
        public static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return "";
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            var b = new byte[n];
            Marshal.Copy(p, b, 0, n);
            return Encoding.UTF8.GetString(b);
        }

        /// <summary>The calling thread's last error.</summary>
        public static string LastError()
        {
            ulong n = (ulong)tg_last_error(null, UIntPtr.Zero);
            var buf = new byte[n];
            tg_last_error(buf, (UIntPtr)n);
            return Encoding.UTF8.GetString(buf, 0, (int)n - 1);
        }
    }

    /// <summary>A call that did not return TG_OK.</summary>
    public class TollgateException : Exception
    {
        public Status Status { get; }
        public TollgateException(int status)
            : base(Native.FromUtf8(Native.tg_status_name(status)) + ": " + Native.LastError())
        {
            Status = (Status)status;
        }
    }

    /// <summary>A decision, copied out of the library's memory.</summary>
    public class Decision
    {
        public bool Allowed, Decided;
        public string Reason, Contact, Message, Action, Warning;
        public int Level;
        public string[] Entitlements;
        public DateTimeOffset? LeaseExpiry;
    }

    /// <summary>One product's license on this machine.</summary>
    public sealed class Licensee : IDisposable
    {
        IntPtr handle;

        public Licensee(string cardPath, string product, string stateDir)
        {
            int st = Native.tg_open_w(cardPath, product, stateDir, out handle);
            if (st != 0) throw new TollgateException(st);
        }

        static Decision Copy(ref NativeDecision d)
        {
            var r = new Decision
            {
                Allowed = d.Allowed != 0,
                Decided = d.Decided != 0,
                Reason = Native.FromUtf8(Native.tg_reason_name(d.Reason)),
                Contact = Native.FromUtf8(Native.tg_reason_name(d.Contact)),
                Message = Native.FromUtf8(d.Message),
                Action = Native.FromUtf8(d.Action),
                Warning = Native.FromUtf8(d.Warning),
                Level = d.Level,
                Entitlements = new string[(int)(ulong)d.EntitlementCount],
            };
            for (int i = 0; i < r.Entitlements.Length; i++)
                r.Entitlements[i] = Native.FromUtf8(Marshal.ReadIntPtr(d.Entitlements, i * IntPtr.Size));
            if (d.LeaseExpiry != 0) r.LeaseExpiry = DateTimeOffset.FromUnixTimeSeconds(d.LeaseExpiry);
            return r;
        }

        public Decision Activate(string key)
        {
            var d = new NativeDecision { Size = (uint)Marshal.SizeOf(typeof(NativeDecision)) };
            int st = Native.tg_activate(handle, Native.Utf8(key), ref d);
            if (st != 0) throw new TollgateException(st);
            try { return Copy(ref d); } finally { Native.tg_decision_free(ref d); }
        }

        public Decision Check(CheckMode mode)
        {
            var d = new NativeDecision { Size = (uint)Marshal.SizeOf(typeof(NativeDecision)) };
            int st = Native.tg_check(handle, (int)mode, ref d);
            if (st != 0) throw new TollgateException(st);
            try { return Copy(ref d); } finally { Native.tg_decision_free(ref d); }
        }

        public string Fingerprint()
        {
            UIntPtr need;
            Native.tg_fingerprint(handle, null, UIntPtr.Zero, out need);
            var buf = new byte[(int)(ulong)need];
            int st = Native.tg_fingerprint(handle, buf, need, out need);
            if (st != 0) throw new TollgateException(st);
            return Encoding.UTF8.GetString(buf, 0, buf.Length - 1);
        }

        public void Deactivate()
        {
            int st = Native.tg_deactivate(handle);
            if (st != 0) throw new TollgateException(st);
        }

        public void Dispose()
        {
            if (handle != IntPtr.Zero)
            {
                Native.tg_close(handle);
                handle = IntPtr.Zero;
            }
        }
    }
}
