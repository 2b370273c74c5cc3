/**
 * Kernel events ({@code kern_event.h}): a bus of small messages identified by vendor, class, subclass and
 * code, each with a monotonic id and a payload. The kernel posts interface events (attached, detaching,
 * detached, link on/off, flags, MTU, address added/removed, protocol attached/detached) and power events
 * (sleep, wake); extensions post their own under a vendor code they look up by name. Events reach interface
 * filters, attached protocols, interfaces and subscribers (extension listeners and in-JVM event sockets).
 */
package org.kextnet.kpi.event;
