// Example.cs: a C# program licensed through libtollgate.
//
//   Example.exe CARD STATE_DIR KEY
//
// Activates KEY (its product is the key's first five characters), checks
// offline, and deactivates. Exit status: 0 licensed, 1 not licensed, 2 an
// error. Build: mcs -out:Example.exe Example.cs Tollgate.cs (Mono), or add
// both files to a .NET project; tollgate.dll (libtollgate.so) beside it.
using System;
using Tollgate;

static class Example
{
    static void Show(string what, Decision d)
    {
        Console.WriteLine("{0}: allowed={1} reason={2} level={3}", what, d.Allowed ? 1 : 0, d.Reason, d.Level);
        Console.WriteLine("  message: " + d.Message);
        if (d.Warning != "") Console.WriteLine("  warning: " + d.Warning);
        Console.WriteLine("  entitlements: " + string.Join(", ", d.Entitlements));
        if (d.LeaseExpiry.HasValue) Console.WriteLine("  lease expires: " + d.LeaseExpiry.Value.ToString("u"));
    }

    static int Main(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: Example.exe CARD STATE_DIR KEY");
            return 2;
        }
        if (Native.tg_abi_version() != 1)
        {
            Console.Error.WriteLine("libtollgate has another ABI version: " + Native.tg_abi_version());
            return 2;
        }
        Console.WriteLine("libtollgate " + Native.FromUtf8(Native.tg_version()));
        string product = args[2].Replace("-", "").Replace(" ", "").Substring(0, 5);
        try
        {
            using (var lic = new Licensee(args[0], product, args[1]))
            {
                Console.WriteLine("fingerprint: " + lic.Fingerprint().Replace("\n", "; "));
                try { lic.Activate("NOT-A-KEY"); }
                catch (TollgateException e) { Console.WriteLine("bad key: " + e.Message); }
                Show("activate", lic.Activate(args[2]));
                var d = lic.Check(CheckMode.Offline);
                Show("check", d);
                lic.Deactivate();
                Console.WriteLine("deactivate: done");
                return d.Allowed ? 0 : 1;
            }
        }
        catch (TollgateException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }
}
