package dev.depin.capacity;

/** Where an obtained machine is in its life. */
public enum MachineState {
    /** Leased; the node is starting and has not said it serves yet. */
    STARTING,
    /** The node serves and lists itself. */
    RUNNING,
    /** Released by the buyer, or its lease ran out. */
    RELEASED,
    /** Gone without being released: crashed, killed, or closed by the market or provider. */
    FAILED;

    /** @return whether the machine is gone */
    public boolean ended() {
        return this == RELEASED || this == FAILED;
    }
}
