package command

// Exit statuses of every command.
const (
	// ExitOK: everything requested succeeded.
	ExitOK = 0
	// ExitFailed: some work failed or was rejected.
	ExitFailed = 1
	// ExitUsage: bad command line or configuration, failed start-up checks
	// included.
	ExitUsage = 2
	// ExitUnavailable: a dependency, such as Redis, could not be reached.
	ExitUnavailable = 3
	// ExitInterrupted: stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)
