/** Written into the live network's directory by the global setup once the network is ready. */
export const LIVE_READY_FILE = 'ready'
/** Written beside the live network's directory, holding the error, if it failed to start. */
export const LIVE_FAILED_FILE = 'failed'
