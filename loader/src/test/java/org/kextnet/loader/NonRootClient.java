package org.kextnet.loader;

import java.nio.file.Path;

import org.kextnet.loader.rpc.KernLoaderClient;

/**
 * Run in a second process under another uid by {@link RpcPrivilegeTest}: tries every operation against the
 * daemon and prints one line per operation, "op code", 0 for success (a kern_loader code, or the kernel's errno for
 * kernel controls).
 */
public final class NonRootClient {
    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        String server = args[1];
        Path script = Path.of(args[2]);
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            c.timeoutMillis(30_000);
            System.out.println("user " + c.user() + " privileged " + c.privileged());
            op("list", () -> c.list());
            op("info", () -> c.info(server));
            op("send", () -> c.send(c.lookup(server), 5, "x".getBytes()));
            op("unload", () -> { c.unload(server); return null; });
            op("delete", () -> { c.delete(server); return null; });
            op("load", () -> { c.load(server); return null; });
            op("add", () -> c.add(script));
            op("admin-show", () -> c.admin("netstat -s"));
            op("ctl-open", () -> { c.connectControl("open", 0).close(); return null; });
            op("ctl-priv", () -> { c.connectControl("priv", 0).close(); return null; });
            op("admin-change", () -> c.admin("ifconfig lo0 mtu 1400"));
            op("abort", () -> c.abort(false));
            op("restart", () -> c.abort(true));
        }
    }

    interface Op { Object run() throws Exception; }

    static void op(String name, Op op) {
        int code;
        try {
            op.run();
            code = 0;
        } catch (LoaderException e) {
            code = e.code();
        } catch (org.kextnet.kpi.KpiException e) {
            code = e.errno(); // the kernel's refusal
        } catch (Exception e) {
            code = -1;
            System.out.println("# " + name + ": " + e);
        }
        System.out.println(name + " " + code);
    }
}
