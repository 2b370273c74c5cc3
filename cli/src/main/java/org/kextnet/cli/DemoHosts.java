package org.kextnet.cli;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;

/**
 * The hosts of the main job's walk-through: the kernel that kern_loader runs on, configured by {@code commands},
 * with address {@code here} on {@code iface}; the {@code peer} that sends it traffic; and the in-process peer kernel,
 * the tunnel's other end, at {@code peerKernelAddress}, reached from the kernel's {@code kernelAddress}. In the
 * embedded default the peer is the peer kernel itself on the memory wire; with {@code run --tun} it is Linux behind
 * the kernel's TUN device, and the peer kernel is behind a TUN device of its own, through Linux's forwarding;
 * {@code tunnelPath} says which way the tunnel's outer packets go.
 */
record DemoHosts(Kernel kernel, KernelCommands commands, String here, String iface, DemoPeer peer,
        Kernel peerKernel, String kernelAddress, String peerKernelAddress, String tunnelPath) {}
