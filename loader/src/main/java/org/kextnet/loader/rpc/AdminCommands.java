package org.kextnet.loader.rpc;

import org.kextnet.kernel.config.KernelCommands;

/** The kernel's admin commands, as the RPC forwards them (ifconfig, route, arp, sysctl, netstat lines). */
public interface AdminCommands {
    /** Runs a line; throws {@link IllegalArgumentException} with the problem, changing nothing. */
    String execute(String line);

    /** Whether a line changes the kernel (then only privileged clients may run it). */
    boolean isMutating(String line);

    /** The commands of a running kernel, serialised: the kernel's command table is not built for concurrent admins. */
    static AdminCommands of(KernelCommands k) {
        return new AdminCommands() {
            @Override public synchronized String execute(String line) { return k.execute(line); }
            @Override public boolean isMutating(String line) { return KernelCommands.isMutating(line); }
        };
    }

    /** No kernel: every command fails. */
    AdminCommands NONE = new AdminCommands() {
        @Override public String execute(String line) { throw new IllegalArgumentException("no kernel attached to this kern_loader"); }
        @Override public boolean isMutating(String line) { return false; }
    };
}
