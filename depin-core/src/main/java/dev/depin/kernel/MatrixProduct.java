package dev.depin.kernel;

import dev.depin.InvalidArgumentException;

/**
 * A kernel output that is the product of two inputs, {@code C = A·B} (row-major float32),
 * which Freivalds' check can verify in O(n²).
 *
 * @param a name of the m×k input
 * @param b name of the k×n input
 * @param c name of the m×n output
 * @param m rows of A and C
 * @param k columns of A, rows of B
 * @param n columns of B and C
 */
public record MatrixProduct(String a, String b, String c, int m, int k, int n) {
    /**
     * Creates a description after checking it.
     *
     * @param a name of the m×k input; not null
     * @param b name of the k×n input; not null
     * @param c name of the m×n output; not null
     * @param m rows of A and C, &ge; 1
     * @param k columns of A, rows of B, &ge; 1
     * @param n columns of B and C, &ge; 1
     * @throws InvalidArgumentException on a null name or a dimension below 1
     */
    public MatrixProduct {
        InvalidArgumentException.requireNonNull(a, "name of A");
        InvalidArgumentException.requireNonNull(b, "name of B");
        InvalidArgumentException.requireNonNull(c, "name of C");
        if (m < 1 || k < 1 || n < 1) {
            throw new InvalidArgumentException("product dimensions " + m + "×" + k + "×" + n + " must all be >= 1");
        }
    }
}
