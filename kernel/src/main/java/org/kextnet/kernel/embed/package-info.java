/**
 * The embedded harness: a whole kernel on memory wires whose far ends a test or a benchmark holds
 * ({@link org.kextnet.kernel.embed.KernelHarness}), and the traffic tools that run over it: a paced source, a
 * sequence-numbered stream with its checker, and a filter that marks packets while another thread replaces it.
 *
 * <p>The top layer: it may use every other, and nothing in the kernel uses it. The kernel's own tests, the loader's
 * tests and the benchmarks use it directly; the testkit wraps it for extension authors behind KPI types only.
 */
package org.kextnet.kernel.embed;
