/**
 * Kernel control ({@code kern_control.h}): a channel between an extension and clients (applications in the
 * JVM, and other processes through kern_loader's RPC). The extension registers a control by name; a client
 * looks the name up to get the control's id, connects to (id, unit), then sends and receives messages and
 * sets and gets options. The extension enqueues data to a connected client, with back-pressure.
 *
 * <p>Callbacks run on the client's thread, never under a kernel lock, and may call back into the KPI
 * (enqueue data, even deregister from {@code disconnect}).
 */
package org.kextnet.kpi.control;
