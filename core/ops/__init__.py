"""Operations: crash recovery of RQ's scheduler, health, metrics, the System page, logs."""
