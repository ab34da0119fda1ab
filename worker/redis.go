package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// parseRedisURL turns REDIS_URL into asynq's connection options. Its errors
// never quote the password.
func parseRedisURL(s string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// ue.Error() would quote the whole URL, password included.
			return nil, fmt.Errorf("not a valid URL: %v", ue.Err)
		}
		return nil, errors.New("not a valid URL")
	}
	if u.Scheme == "redis-cluster" {
		return parseClusterURL(u)
	}
	opt, err := asynq.ParseRedisURI(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", u.Redacted(), err)
	}
	if o, ok := opt.(asynq.RedisFailoverClientOpt); ok && o.MasterName == "" {
		return nil, fmt.Errorf("%s: sentinel URL without ?master=<name>", u.Redacted())
	}
	return opt, nil
}

// parseClusterURL reads redis-cluster://[user:password@]host1:port,host2:port,...
// (some or all of the cluster's nodes; the client finds the others), a
// form asynq.ParseRedisURI does not know.
func parseClusterURL(u *url.URL) (asynq.RedisConnOpt, error) {
	opt := asynq.RedisClusterClientOpt{Username: u.User.Username()}
	opt.Password, _ = u.User.Password()
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, fmt.Errorf("%s: a cluster has only database 0", u.Redacted())
	}
	for _, a := range strings.Split(u.Host, ",") {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("%s: cluster node %q is not host:port", u.Redacted(), a)
		}
		opt.Addrs = append(opt.Addrs, a)
	}
	return opt, nil
}

// redactedURL returns s with any password replaced by "xxxxx", or a
// placeholder when s does not parse (it could hold anything).
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// pingRedis checks that Redis answers within timeout.
func pingRedis(ctx context.Context, opt asynq.RedisConnOpt, timeout time.Duration) error {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return fmt.Errorf("unsupported connection options %T", opt)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			// go-redis keeps redialling until the deadline and then
			// reports only the deadline; a plain dial tells why.
			if o, ok := opt.(asynq.RedisClientOpt); ok && (o.Network == "" || o.Network == "tcp") {
				c, derr := net.DialTimeout("tcp", o.Addr, time.Second)
				if derr != nil {
					return fmt.Errorf("no answer within %v: %w", timeout, derr)
				}
				c.Close()
			}
			return fmt.Errorf("no answer within %v", timeout)
		}
		return err
	}
	return nil
}
