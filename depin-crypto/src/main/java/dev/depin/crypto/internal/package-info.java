/**
 * Implementation details of {@code dev.depin.crypto}; may change without notice.
 */
package dev.depin.crypto.internal;
