/**
 * The built-in kernels' definitions: one class per kernel holding its contract, shapes,
 * CPU reference and verification recipe. Not API; may change without notice.
 */
package dev.depin.kernel.internal;
