// Package command is what every command of the module shares, so that
// cmd/*/main.go stays a few lines of wiring and each command behaves the
// same way:
//
//   - the exit statuses ([ExitOK], [ExitFailed], [ExitUsage],
//     [ExitUnavailable], [ExitInterrupted]), settled once for every command
//     and listed in README.md's "Exit statuses"; errors are marked with
//     [UsageError] or [UnavailableError], and [Code] or [Report] turn the
//     error a command ended with into its status;
//   - [NewFlagSet] and [PrintFlags]: flags parsed by Go's flag package
//     (which accepts -name and --name), shown as --name in every help;
//   - [NewLogger], the *slog.Logger built from a format (text or json) and
//     a level (debug, info, warn, error);
//   - [SignalContext]: a context cancelled on the first SIGINT or SIGTERM,
//     the process exiting with [ExitInterrupted] on a second SIGINT; [Main]
//     runs a command's body with it and exits with the status it returns;
//   - [Vars]: settings that are environment variables, each overridden by
//     the flag of the same name (REDIS_URL → --redis-url), with the table
//     that --help prints;
//   - [Problems]: every problem with a command's settings collected, each
//     named by its variables, and the readers of positive durations and
//     numbers and of booleans that word a refusal the same in every
//     command.
//
// Libraries never import this package: they take their settings as values
// and read no environment variable.
package command
