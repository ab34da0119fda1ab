package testproc

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultMasterName is the master name a [Sentinel] monitors when
// SentinelOptions.MasterName is empty.
const DefaultMasterName = "mymaster"

// SentinelOptions tune a Sentinel setup. The zero value gives one master,
// no replica and one Sentinel.
type SentinelOptions struct {
	// MasterName is the name the Sentinels know the master by. Default
	// [DefaultMasterName].
	MasterName string
	// Sentinels is the number of redis-server --sentinel processes.
	// Default 1. The quorum is a majority of them.
	Sentinels int
	// Replicas is the number of replicas of the master. Default 0; a
	// [Sentinel.Failover] needs at least one.
	Replicas int
	// AppendOnly turns on append-only persistence on the master and the
	// replicas.
	AppendOnly bool
	// DownAfter is down-after-milliseconds. Default 1s.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout. Default 5s.
	FailoverTimeout time.Duration
}

// Sentinel is a private master, its replicas and the Sentinels that
// monitor it, all on free loopback ports.
type Sentinel struct {
	// MasterName is the name the Sentinels know the master by.
	MasterName string
	// Master is the server the Sentinels monitored at start. After a
	// [Sentinel.Failover] it is a replica; ask [Sentinel.MasterAddr].
	Master *Redis
	// Replicas replicate Master.
	Replicas []*Redis
	// Sentinels are the redis-server --sentinel processes.
	Sentinels []*Redis
}

// StartSentinel launches a master, its replicas and the Sentinels, and
// waits until every Sentinel reports the master (and, with replicas, until
// every replica is in sync and known to the Sentinels). Every process is
// killed when the test ends.
func StartSentinel(t TB, opts ...SentinelOptions) *Sentinel {
	t.Helper()
	o := first(opts)
	o.MasterName = cmp.Or(o.MasterName, DefaultMasterName)
	o.Sentinels = cmp.Or(o.Sentinels, 1)
	o.DownAfter = cmp.Or(o.DownAfter, time.Second)
	o.FailoverTimeout = cmp.Or(o.FailoverTimeout, 5*time.Second)
	s := &Sentinel{MasterName: o.MasterName}
	s.Master = StartRedis(t, RedisOptions{AppendOnly: o.AppendOnly})
	for range o.Replicas {
		s.Replicas = append(s.Replicas, StartRedis(t, RedisOptions{
			AppendOnly: o.AppendOnly,
			Args:       []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port())},
		}))
	}
	quorum := o.Sentinels/2 + 1
	for range o.Sentinels {
		srv := &Redis{dir: t.TempDir(), port: FreePort(t)}
		srv.sentinelConf = filepath.Join(srv.dir, "sentinel.conf")
		conf := strings.Join([]string{
			"port " + strconv.Itoa(srv.port),
			"bind 127.0.0.1",
			"daemonize no",
			"dir " + srv.dir,
			"logfile " + srv.logFile(),
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", o.MasterName, s.Master.Port(), quorum),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", o.MasterName, o.DownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", o.MasterName, o.FailoverTimeout.Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", o.MasterName),
			"",
		}, "\n")
		if err := os.WriteFile(srv.sentinelConf, []byte(conf), 0o600); err != nil {
			t.Fatalf("testproc: write sentinel.conf: %v", err)
		}
		err := srv.Start()
		t.Cleanup(srv.Kill)
		if err != nil {
			t.Fatalf("%v", err)
		}
		s.Sentinels = append(s.Sentinels, srv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.waitReady(ctx, s.Master.Addr()); err != nil {
		t.Fatalf("testproc: sentinel setup not ready: %v%s", err, s.logs())
	}
	return s
}

// waitReady waits until every Sentinel names master as the master and
// knows every replica as connected, and every replica's link is up.
func (s *Sentinel) waitReady(ctx context.Context, master string) error {
	return poll(ctx, func() error { return s.ready(ctx, master) })
}

func (s *Sentinel) ready(ctx context.Context, master string) error {
	for _, sn := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr(), Protocol: 2})
		addr, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
		if err != nil {
			sc.Close()
			return fmt.Errorf("sentinel %s: get-master-addr-by-name: %w", sn.Addr(), err)
		}
		if got := net.JoinHostPort(addr[0], addr[1]); got != master {
			sc.Close()
			return fmt.Errorf("sentinel %s names master %s, want %s", sn.Addr(), got, master)
		}
		replicas, err := sc.Replicas(ctx, s.MasterName).Result()
		sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: replicas: %w", sn.Addr(), err)
		}
		healthy := 0
		for _, r := range replicas {
			if !strings.Contains(r["flags"], "disconnected") && !strings.Contains(r["flags"], "s_down") &&
				r["master-link-status"] == "ok" {
				healthy++
			}
		}
		if healthy != len(s.Replicas) {
			return fmt.Errorf("sentinel %s sees %d healthy replicas of %d", sn.Addr(), healthy, len(s.Replicas))
		}
	}
	return nil
}

// Addrs are the host:port addresses of the Sentinels.
func (s *Sentinel) Addrs() []string { return addrs(s.Sentinels) }

// URL is a redis-sentinel://sentinel1,sentinel2?master=name URL, the form
// asynq.ParseRedisURI (and so the worker's REDIS_URL) accepts.
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.Addrs(), ",") + "?master=" + s.MasterName
}

// MasterAddr asks the first Sentinel which address the master has now.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr(), Protocol: 2})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", fmt.Errorf("testproc: get-master-addr-by-name: %w", err)
	}
	return net.JoinHostPort(addr[0], addr[1]), nil
}

// Client returns a go-redis failover client that finds the master through
// the Sentinels, closed when the test ends.
func (s *Sentinel) Client(t TB) *redis.Client {
	t.Helper()
	cl := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.Addrs()})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Failover asks the first Sentinel for a forced failover (SENTINEL
// FAILOVER) and waits until every Sentinel names a new master and the old
// master has rejoined as a replica. It needs at least one replica, and
// returns the new master's address.
func (s *Sentinel) Failover(t TB) string {
	t.Helper()
	if len(s.Replicas) == 0 {
		t.Fatalf("testproc: Failover needs SentinelOptions.Replicas > 0")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old, err := s.MasterAddr(ctx)
	if err != nil {
		t.Fatalf("%v", err)
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr(), Protocol: 2})
	defer sc.Close()
	if err := sc.Failover(ctx, s.MasterName).Err(); err != nil {
		t.Fatalf("testproc: SENTINEL FAILOVER: %v", err)
	}
	var now string
	err = poll(ctx, func() error {
		addr, err := s.MasterAddr(ctx)
		if err == nil && addr == old {
			err = fmt.Errorf("master still %s", old)
		}
		now = addr
		return err
	})
	if err != nil {
		t.Fatalf("testproc: failover did not finish: %v%s", err, s.logs())
	}
	if err := s.waitReady(ctx, now); err != nil {
		t.Fatalf("testproc: after failover: %v%s", err, s.logs())
	}
	return now
}

// logs returns the log files of every process, for a failure message.
func (s *Sentinel) logs() string {
	return logsOf(append(append([]*Redis{s.Master}, s.Replicas...), s.Sentinels...))
}
