/** Canonical JSON of specs and dispute records. Not API; may change without notice. */
package dev.depin.job.internal;
