/**
 * The kernel programming interface (KPI): everything a network kernel extension compiles against, and
 * nothing else of the kernel. It re-creates the Mac OS X 10.4 network KPIs ({@code kpi_mbuf.h},
 * {@code kpi_socketfilter.h}, {@code kpi_ipfilter.h}, {@code kpi_interfacefilter.h}, {@code kpi_interface.h},
 * {@code kpi_protocol.h}, {@code kern_control.h}, {@code kern_event.h}) in Java idiom.
 *
 * <h2>Life of an extension</h2>
 * The loader creates the extension's {@link org.kextnet.kpi.KernelExtension} object and calls
 * {@link org.kextnet.kpi.KernelExtension#start start} with a {@link org.kextnet.kpi.Kpi}: a handle bound to that
 * extension, through which it makes every registration (filters, controls, plumbers, interfaces, event
 * subscriptions, callouts). The kernel records each registration against the extension, so that unload can
 * check that {@link org.kextnet.kpi.KernelExtension#stop stop} removed them all, and remove stragglers itself.
 *
 * <h2>Conventions, everywhere</h2>
 * <ul>
 * <li><b>Results.</b> A callback that decides a packet's fate returns an {@code int} errno
 *   ({@link org.kextnet.kpi.Errno}): {@code 0} continues, {@link org.kextnet.kpi.Errno#EJUSTRETURN} stops and
 *   hands ownership of the packet to the callee ("stolen"), any other value stops, and the kernel frees the
 *   packet and reports that error. The packet path therefore allocates nothing. Calls that create a
 *   registration return its handle or throw {@link org.kextnet.kpi.KpiException} with the errno.</li>
 * <li><b>Ownership.</b> Each method that takes a packet says whether it "takes ownership" (the caller must
 *   not touch the packet afterwards, whatever the result) or "does not take ownership".</li>
 * <li><b>Asynchronous removal.</b> Removing a filter, control, plumber or interface returns at once. The
 *   kernel stops calling into it for new work, waits until every call already inside it has returned (a
 *   grace period), then makes the final callback ({@code detached}, {@code unregistered}) exactly once.
 *   Only after that may an extension consider itself unreferenced.</li>
 * <li><b>Threads.</b> Callbacks run concurrently on the kernel's packet threads (one per interface queue),
 *   on the threads of applications that send, and on the kernel's timer thread. Protect your own state.
 *   Packet-path callbacks must not block. The kernel never holds one of its locks while calling an
 *   extension, so any callback may call back into the KPI (inject, enqueue, remove itself).</li>
 * <li><b>Faults.</b> A callback that throws is contained: the kernel counts the fault on that registration,
 *   gives the packet the head's fail-safe verdict (drop, for IP and interface filters, unless the kernel is
 *   configured otherwise) and, after repeated faults, removes the registration and marks it faulted.</li>
 * <li><b>Cookies.</b> xnu passes a {@code void *cookie} to every callback; here the filter object itself
 *   carries its state, and per-socket or per-connection state lives in the attachment object the kernel
 *   passes (see {@link org.kextnet.kpi.socketfilter.SocketAttachment}).</li>
 * </ul>
 */
package org.kextnet.kpi;
