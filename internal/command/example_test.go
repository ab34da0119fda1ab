package command_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/storemedia/alipay-media-worker/internal/command"
)

func ExampleBindVars() {
	env := map[string]string{"REDIS_URL": "redis://10.0.0.5:6379/0", "LOG_LEVEL": "debug"}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	vars := command.BindVars(fs, func(k string) string { return env[k] },
		command.Var{Name: "REDIS_URL", Default: "redis://127.0.0.1:6379/0", Usage: "Redis location"},
		command.Var{Name: "LOG_LEVEL", Default: "info", Usage: "debug, info, warn or error"},
	)
	if err := fs.Parse([]string{"--log-level", "warn"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vars.Get("REDIS_URL"))
	fmt.Println(vars.Get("LOG_LEVEL"))
	vars.PrintTable(os.Stdout)
	// Output:
	// redis://10.0.0.5:6379/0
	// warn
	//   REDIS_URL  redis://127.0.0.1:6379/0  Redis location
	//   LOG_LEVEL  info                      debug, info, warn or error
}

func ExampleNewLogger() {
	logger, err := command.NewLogger(os.Stdout, "json", "warn")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(logger.Enabled(context.Background(), slog.LevelInfo))
	fmt.Println(logger.Enabled(context.Background(), slog.LevelWarn))
	// Output:
	// false
	// true
}

func ExampleProblems() {
	var ps command.Problems
	timeout := ps.Duration("ALIPAY_TIMEOUT", "30")
	burst := ps.Positive("ALIPAY_RATE_BURST", "5")
	ps.Addf("ALIPAY_APP_ID", "required")
	fmt.Println(timeout, burst, ps.Bad("ALIPAY_APP_ID, MEDIA_ROOTS"))
	fmt.Println(ps.Err())
	// Output:
	// 0s 5 true
	// ALIPAY_TIMEOUT: "30" is not a positive duration (write e.g. 500ms, 30s or 2m); ALIPAY_APP_ID: required
}
