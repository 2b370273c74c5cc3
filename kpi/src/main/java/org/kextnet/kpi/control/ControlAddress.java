package org.kextnet.kpi.control;

/**
 * A kernel-control address ({@code struct sockaddr_ctl}): the control's id and a unit.
 *
 * @param id   the control id (dynamic, from the name lookup, or fixed with {@link ControlParams#FLAG_REG_ID_UNIT})
 * @param unit the unit: chosen by the client, or 0 to let the kernel pick the first free one
 */
public record ControlAddress(int id, int unit) {}
