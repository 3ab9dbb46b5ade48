/** Offer encodings. Not API; may change without notice. */
package dev.depin.provider.internal;
