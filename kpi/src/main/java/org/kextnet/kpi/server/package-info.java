/**
 * The server side of kern_loader (NeXTSTEP's {@code kern_serv} functions): what a loadable kernel server
 * receives from the loader that runs it.
 *
 * <p>A server is a jar whose manifest names a server class ({@code Kext-Server-Class}). Its script maps
 * routines, public methods of that class, to load-time, unload-time and message events:
 * <ul>
 * <li>{@code INIT routine arg} / {@code FREE routine arg}: {@code int routine(KernServ ks, int arg)}, 0 for
 *   success, else an error (a failing INIT aborts the load; a failing FREE forces the unload).</li>
 * <li>{@code MAP port routine arg}: {@code int routine(KernServ ks, PortMessage msg, int arg)}, called for
 *   each message to {@code port}; reply with {@link org.kextnet.kpi.server.PortMessage#reply}.</li>
 * <li>{@code PORT_DEATH routine}: {@code void routine(KernServ ks, long deadPort)}, called when a client's
 *   reply port (one the server has seen in a message) dies.</li>
 * </ul>
 * Routines may be static or instance methods; the instance is created with the public no-argument
 * constructor when the server is loaded, and dropped with its class loader when it is unloaded.
 *
 * <p>Everything a server keeps running must be owned by the kernel through {@link org.kextnet.kpi.server.KernServ}
 * (timeouts, callouts, wired buffers) so that an unload can cancel it and nothing of the server stays behind.
 */
package org.kextnet.kpi.server;
