package testproc

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// ClusterOptions tune a cluster. The zero value gives three in-memory
// masters and no replicas.
type ClusterOptions struct {
	// Masters is the number of master nodes, each owning an equal share
	// of the hash slots. Default 3.
	Masters int
	// AppendOnly turns on append-only persistence on every node.
	AppendOnly bool
	// NodeTimeout is cluster-node-timeout. Default 2s.
	NodeTimeout time.Duration
}

// Cluster is a private Redis Cluster: masters on free loopback ports, each
// with its own cluster bus port, slots split evenly between them.
type Cluster struct {
	// Nodes are the masters, in slot order: Nodes[0] owns slot 0.
	Nodes []*Redis
}

// StartCluster launches a private Redis Cluster, assigns every hash slot,
// joins the nodes and waits until each one reports cluster_state:ok and
// agrees on the slot map. The nodes are killed when the test ends.
func StartCluster(t TB, opts ...ClusterOptions) *Cluster {
	t.Helper()
	o := first(opts)
	o.Masters = cmp.Or(o.Masters, 3)
	o.NodeTimeout = cmp.Or(o.NodeTimeout, 2*time.Second)
	c := &Cluster{}
	for range o.Masters {
		c.Nodes = append(c.Nodes, StartRedis(t, RedisOptions{
			AppendOnly: o.AppendOnly,
			clusterBus: true,
			Args: []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10),
				// The test's own processes are the only clients; let a
				// node answer for its slots even while a peer is down.
				"--cluster-require-full-coverage", "no",
			},
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.form(ctx); err != nil {
		t.Fatalf("testproc: form cluster: %v%s", err, c.logs())
	}
	return c
}

// form assigns the slots, introduces the nodes to each other and waits for
// the cluster to settle.
func (c *Cluster) form(ctx context.Context) error {
	clients := make([]*redis.Client, len(c.Nodes))
	for i, n := range c.Nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr(), Protocol: 2})
		defer clients[i].Close()
	}
	share := clusterSlots / len(c.Nodes)
	for i, cl := range clients {
		first := i * share
		last := first + share - 1
		if i == len(clients)-1 {
			last = clusterSlots - 1
		}
		if err := cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			return fmt.Errorf("node %s: CLUSTER ADDSLOTSRANGE %d %d: %w", c.Nodes[i].Addr(), first, last, err)
		}
	}
	for _, n := range c.Nodes[1:] {
		// The bus port must be named: it is not the default port+10000.
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port(), n.busPort).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Addr(), err)
		}
	}
	if err := poll(ctx, func() error { return c.settled(ctx, clients) }); err != nil {
		return fmt.Errorf("not settled: %w", err)
	}
	return nil
}

// settled reports nil once every node says cluster_state:ok, knows every
// other node and sees the whole slot map with the right owners.
func (c *Cluster) settled(ctx context.Context, clients []*redis.Client) error {
	for i, cl := range clients {
		info, err := cl.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("node %s: CLUSTER INFO: %w", c.Nodes[i].Addr(), err)
		}
		fields := parseInfo(info)
		if fields["cluster_state"] != "ok" {
			return fmt.Errorf("node %s: cluster_state %q", c.Nodes[i].Addr(), fields["cluster_state"])
		}
		if fields["cluster_known_nodes"] != strconv.Itoa(len(c.Nodes)) {
			return fmt.Errorf("node %s knows %s nodes", c.Nodes[i].Addr(), fields["cluster_known_nodes"])
		}
		if fields["cluster_slots_ok"] != strconv.Itoa(clusterSlots) {
			return fmt.Errorf("node %s: %s slots ok", c.Nodes[i].Addr(), fields["cluster_slots_ok"])
		}
		slots, err := cl.ClusterSlots(ctx).Result()
		if err != nil {
			return fmt.Errorf("node %s: CLUSTER SLOTS: %w", c.Nodes[i].Addr(), err)
		}
		if len(slots) != len(c.Nodes) {
			return fmt.Errorf("node %s sees %d slot ranges", c.Nodes[i].Addr(), len(slots))
		}
		for _, r := range slots {
			if len(r.Nodes) == 0 || !strings.HasSuffix(r.Nodes[0].Addr, ":"+strconv.Itoa(c.ownerPort(int(r.Start)))) {
				return fmt.Errorf("node %s: slots %d-%d not yet mapped to their owner", c.Nodes[i].Addr(), r.Start, r.End)
			}
		}
	}
	return nil
}

func (c *Cluster) ownerPort(slot int) int {
	i := slot / (clusterSlots / len(c.Nodes))
	if i >= len(c.Nodes) {
		i = len(c.Nodes) - 1
	}
	return c.Nodes[i].Port()
}

// Addrs are the host:port addresses of the masters.
func (c *Cluster) Addrs() []string { return addrs(c.Nodes) }

// addrs lists the host:port addresses of servers.
func addrs(servers []*Redis) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr()
	}
	return out
}

// URL is a redis-cluster://host1:port1,host2:port2,... URL naming every
// master, the form the worker's REDIS_URL accepts for a cluster.
func (c *Cluster) URL() string {
	return "redis-cluster://" + strings.Join(c.Addrs(), ",")
}

// Client returns a go-redis cluster client for the cluster, closed when the
// test ends.
func (c *Cluster) Client(t TB) *redis.ClusterClient {
	t.Helper()
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// logs returns the nodes' log files, for a failure message.
func (c *Cluster) logs() string { return logsOf(c.Nodes) }

// logsOf returns the tail of each server's log file, for a failure
// message.
func logsOf(servers []*Redis) string {
	var b strings.Builder
	for _, n := range servers {
		data, _ := os.ReadFile(n.logFile())
		fmt.Fprintf(&b, "\n--- %s redis.log ---\n%s", n.Addr(), tail(data, 4096))
	}
	return b.String()
}

// parseInfo splits the "key:value" lines of an INFO-style reply.
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			m[k] = v
		}
	}
	return m
}

// tail returns at most the last n bytes of data.
func tail(data []byte, n int) []byte {
	if len(data) > n {
		return data[len(data)-n:]
	}
	return data
}

// first is the first of a variadic options argument, or the zero value.
func first[T any](opts []T) T {
	var o T
	if len(opts) > 0 {
		o = opts[0]
	}
	return o
}

// poll calls check every 50ms until it returns nil or ctx is done, and
// then returns check's last error with ctx's.
func poll(ctx context.Context, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
