/**
 * Implementation of the CUDA executor: the kernel artefacts, device memory and module
 * handles, argument binding. Not API; may change in any release.
 */
package dev.depin.cuda.internal;
