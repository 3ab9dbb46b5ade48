/** Transport internals of depin-grpc: TLS, the services, the buyer's stream; may change freely. */
package dev.depin.grpc.internal;
