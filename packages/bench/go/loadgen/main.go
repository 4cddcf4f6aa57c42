// Command loadgen drives an etcd v3 endpoint list with put, range or watch
// traffic and prints one JSON line with throughput and latency percentiles.
//
// It is built in GOPATH mode against Debian's packaged etcd 3.4 clientv3
// sources (see scripts/bench-build-loadgen.sh), so it needs no network.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"net"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	pb "go.etcd.io/etcd/etcdserver/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

type config struct {
	endpoints   []string
	op          string
	clients     int
	conns       int
	streams     int
	total       int64
	duration    time.Duration
	warmup      time.Duration
	deadline    time.Duration
	reqTimeout  time.Duration
	keySize     int
	valSize     int
	keySpace    int64
	seqKeys     bool
	consistency string
	prefill     string
	putRate     float64
	watchKey    string
	sinceUnixNs int64
	keyPrefix   string
	raw         bool
	balance     string
	serverPids  []int
	idle        time.Duration
	fanoutWarm  int
}

// result is the single JSON line written to stdout. The first eight fields are
// the stable contract used by the bench scripts; the rest are informational.
type result struct {
	Op          string  `json:"op"`
	Ops         int64   `json:"ops"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	MeanMs      float64 `json:"mean_ms"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Clients     int     `json:"clients"`
	Conns       int     `json:"conns"`
	Endpoints   string  `json:"endpoints"`
	KeySpace    int64   `json:"key_space,omitempty"`
	Consistency string  `json:"consistency,omitempty"`
	PrefillSecs float64 `json:"prefill_seconds,omitempty"`
	Puts        int64   `json:"puts,omitempty"`
	Watchers    int     `json:"watchers,omitempty"`
	Streams     int     `json:"streams,omitempty"`
	ReadyMs     float64 `json:"ready_ms,omitempty"`
	Attempts    int64   `json:"attempts,omitempty"`
	Aborted     string  `json:"aborted,omitempty"`
	// watch-fanout: latency of single events (put sent to one watcher's
	// receipt) over all watchers and puts; the main percentiles are of the
	// time for a put to reach every watcher.
	EventP50Ms float64 `json:"event_p50_ms,omitempty"`
	EventP99Ms float64 `json:"event_p99_ms,omitempty"`
	EventMaxMs float64 `json:"event_max_ms,omitempty"`
	CreateMs   float64 `json:"create_ms,omitempty"`
	// watch-latency, watch-fanout: latency of the measured puts themselves
	// (request to response), the part of an event's latency spent before
	// the write is applied.
	PutP50Ms float64 `json:"put_p50_ms,omitempty"`
	PutP99Ms float64 `json:"put_p99_ms,omitempty"`
	// CPU seconds spent during the measured window by the --server-pid
	// processes and by the load generator itself, and the same per operation.
	ServerCPUs     float64 `json:"server_cpu_s,omitempty"`
	ServerCPUUsOp  float64 `json:"server_cpu_us_per_op,omitempty"`
	LoadgenCPUs    float64 `json:"loadgen_cpu_s,omitempty"`
	LoadgenCPUUsOp float64 `json:"loadgen_cpu_us_per_op,omitempty"`
	// The same window per --server-pid process (key: the PID), and the
	// busy CPU time of the whole machine (all processes, all cores, from
	// /proc/stat), so what ran besides the server and the load generator
	// can be told apart.
	ServerCPUsByPid map[string]float64 `json:"server_cpu_s_by_pid,omitempty"`
	MachineCPUs     float64            `json:"machine_cpu_s,omitempty"`
	// User-space processes other than the servers, this load generator and
	// its parent (other users of the machine) that were alive at the end of
	// the window; processes that exited during it are not seen. At most the
	// machine's busy time minus the server's and the load generator's.
	OtherProcsCPUs float64 `json:"other_procs_cpu_s,omitempty"`
	// status: one entry per endpoint.
	Status []memberStatus `json:"status,omitempty"`
}

// memberStatus is one endpoint's Maintenance.Status, with IDs in hex as
// etcdctl prints them.
type memberStatus struct {
	Endpoint  string `json:"endpoint"`
	MemberID  string `json:"member_id,omitempty"`
	Leader    string `json:"leader,omitempty"`
	RaftTerm  uint64 `json:"raft_term,omitempty"`
	RaftIndex uint64 `json:"raft_index,omitempty"`
	Revision  int64  `json:"revision,omitempty"`
	DbSize    int64  `json:"db_size,omitempty"`
	Error     string `json:"error,omitempty"`
}

// cpuMeter samples CPU time of the server processes (from /proc/<pid>/stat,
// utime+stime of all threads, in USER_HZ = 100 ticks) and of this process.
type cpuMeter struct {
	pids          []int
	server0, own0 float64
	byPid0        []float64
	machine0      float64
	others0       map[int]float64
}

// otherProcsCPU maps every user-space process except this one, its parent
// and the servers to its CPU time (utime+stime, all threads), in seconds.
// Kernel threads are left out. Reaped children (cutime, cstime) are not
// counted: a child reaped during the window would bring in its whole life.
func otherProcsCPU(exclude map[int]bool) map[int]float64 {
	out := map[int]float64{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || exclude[pid] {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// state(0) ppid(1) pgrp(2) session(3) tty(4) tpgid(5) flags(6) ...
		// utime(11) stime(12).
		if len(f) < 13 {
			continue
		}
		flags, _ := strconv.ParseUint(f[6], 10, 64)
		if flags&0x00200000 != 0 { // PF_KTHREAD
			continue
		}
		var t float64
		for _, k := range []int{11, 12} {
			v, _ := strconv.ParseFloat(f[k], 64)
			t += v
		}
		out[pid] = t / 100
	}
	return out
}

func (m *cpuMeter) exclude() map[int]bool {
	ex := map[int]bool{os.Getpid(): true, os.Getppid(): true}
	for _, p := range m.pids {
		ex[p] = true
	}
	return ex
}

// machineBusySeconds is the busy time of all CPUs (user, nice, system, irq,
// softirq; not idle, iowait or steal) from the first line of /proc/stat.
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line := string(b)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, _ := strconv.ParseFloat(f[i], 64)
		busy += v
	}
	return busy / 100
}

func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

func ownCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func (m *cpuMeter) start() {
	m.byPid0 = make([]float64, len(m.pids))
	for i, p := range m.pids {
		m.byPid0[i] = procCPUSeconds(p)
		m.server0 += m.byPid0[i]
	}
	m.own0 = ownCPUSeconds()
	m.machine0 = machineBusySeconds()
	m.others0 = otherProcsCPU(m.exclude())
}

func (m *cpuMeter) finish(r *result) {
	// Every counter is read first, at (nearly) one instant.
	own := ownCPUSeconds() - m.own0
	machine := machineBusySeconds() - m.machine0
	byPid := make([]float64, len(m.pids))
	var srv float64
	for i, p := range m.pids {
		byPid[i] = procCPUSeconds(p) - m.byPid0[i]
		srv += byPid[i]
	}
	var others float64
	for pid, t := range otherProcsCPU(m.exclude()) {
		// A process started during the window counts in full.
		others += t - m.others0[pid]
	}
	// Clock-tick rounding and PID reuse can push the sum past what the
	// machine did; others is what is left at most.
	others = math.Max(0, math.Min(others, machine-own-srv))

	r.LoadgenCPUs = math.Round(own*1000) / 1000
	r.MachineCPUs = math.Round(machine*1000) / 1000
	r.OtherProcsCPUs = math.Round(others*1000) / 1000
	if r.Ops > 0 {
		r.LoadgenCPUUsOp = math.Round(own*1e6/float64(r.Ops)*10) / 10
	}
	if len(m.pids) == 0 {
		return
	}
	r.ServerCPUsByPid = make(map[string]float64, len(m.pids))
	for i, p := range m.pids {
		r.ServerCPUsByPid[strconv.Itoa(p)] = math.Round(byPid[i]*1000) / 1000
	}
	r.ServerCPUs = math.Round(srv*1000) / 1000
	if r.Ops > 0 {
		r.ServerCPUUsOp = math.Round(srv*1e6/float64(r.Ops)*10) / 10
	}
}

// errorLog counts failures and remembers the first one for the report.
type errorLog struct {
	n     int64
	mu    sync.Mutex
	first string
}

func (e *errorLog) add(err error) {
	if atomic.AddInt64(&e.n, 1) == 1 {
		e.mu.Lock()
		e.first = err.Error()
		e.mu.Unlock()
	}
}

func (e *errorLog) count() int64 { return atomic.LoadInt64(&e.n) }

func (e *errorLog) firstMessage() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first
}

var (
	outMu   sync.Mutex
	printed bool
)

// emit writes the result line exactly once, even if the hard deadline fires
// while the normal path is finishing.
func emit(r result) bool {
	outMu.Lock()
	defer outMu.Unlock()
	if printed {
		return false
	}
	printed = true
	r.OpsPerSec = math.Round(r.OpsPerSec*10) / 10
	r.Seconds = math.Round(r.Seconds*1000) / 1000
	r.PrefillSecs = math.Round(r.PrefillSecs*1000) / 1000
	b, _ := json.Marshal(r)
	os.Stdout.Write(append(b, '\n'))
	return true
}

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}

func parseFlags() config {
	var c config
	var endpoints string
	flag.StringVar(&endpoints, "endpoints", "127.0.0.1:2379", "comma-separated host:port list")
	flag.StringVar(&c.op, "op", "put", "put | range | watch-latency | watch-fanout | ready | count | status")
	flag.IntVar(&c.clients, "clients", 1, "concurrent in-flight requests (watchers for watch-latency)")
	flag.IntVar(&c.conns, "conns", 0, "gRPC connections (default ceil(clients/16))")
	flag.IntVar(&c.streams, "streams", 0, "watch-latency: distinct watch streams (default one per watcher)")
	flag.Int64Var(&c.total, "total", 0, "stop after this many measured operations (puts for watch-latency); 0 = use --duration")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measurement time when --total is 0")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before the measurement")
	flag.DurationVar(&c.deadline, "deadline", 0, "hard limit for the whole run (default warmup+duration+60s, or 10m with --total)")
	flag.DurationVar(&c.reqTimeout, "timeout", 5*time.Second, "per-request timeout")
	flag.IntVar(&c.keySize, "key-size", 16, "key size in bytes")
	flag.IntVar(&c.valSize, "val-size", 256, "value size in bytes")
	flag.Int64Var(&c.keySpace, "key-space", 10000, "number of distinct keys")
	flag.BoolVar(&c.seqKeys, "seq-keys", false, "put: walk the key space in order instead of at random")
	flag.StringVar(&c.consistency, "consistency", "l", "range: l (linearizable) or s (serializable)")
	flag.StringVar(&c.prefill, "prefill", "auto", "range: write every key of the key space first (auto = yes for range)")
	flag.Float64Var(&c.putRate, "put-rate", 100, "watch-latency: puts per second (0 = back to back)")
	flag.StringVar(&c.watchKey, "watch-key", "bench-watch-key", "watch-latency, watch-fanout: watched key")
	flag.DurationVar(&c.idle, "idle", 0, "watch-fanout: pause with all watchers created and idle before the puts (stderr says when it starts)")
	flag.IntVar(&c.fanoutWarm, "fanout-warmup", 5, "watch-fanout: unmeasured puts before the measured ones")
	flag.Int64Var(&c.sinceUnixNs, "since-unix-ns", 0, "ready: measure from this wall-clock instant (default: loadgen start)")
	flag.StringVar(&c.keyPrefix, "key-prefix", "k", "first characters of every generated key")
	var serverPids string
	flag.StringVar(&serverPids, "server-pid", "", "comma-separated server PIDs whose CPU time is reported for the measured window")
	flag.BoolVar(&c.raw, "raw", false, "put/range: bare gRPC KV stub instead of clientv3 (less load-generator CPU)")
	flag.StringVar(&c.balance, "balance", "conn", "several endpoints: conn = connection i uses endpoint i mod n (etcd's benchmark tool); rr = every connection uses all endpoints and requests rotate over them (clientv3 with several endpoints)")
	flag.Parse()

	for _, p := range strings.Split(serverPids, ",") {
		if p = strings.TrimSpace(p); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				fatalf("--server-pid: %v", err)
			}
			c.serverPids = append(c.serverPids, n)
		}
	}
	for _, e := range strings.Split(endpoints, ",") {
		e = strings.TrimSpace(e)
		e = strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "https://")
		if e != "" {
			c.endpoints = append(c.endpoints, e)
		}
	}
	if len(c.endpoints) == 0 {
		fatalf("--endpoints is empty")
	}
	if c.balance != "conn" && c.balance != "rr" {
		fatalf("--balance must be conn or rr")
	}
	if c.clients < 1 {
		fatalf("--clients must be >= 1")
	}
	if c.conns <= 0 {
		c.conns = (c.clients + 15) / 16
	}
	if c.conns > c.clients {
		c.conns = c.clients
	}
	if c.keySpace < 1 {
		fatalf("--key-space must be >= 1")
	}
	if c.keySize < len(c.keyPrefix)+1 {
		fatalf("--key-size must exceed the prefix length")
	}
	digits := c.keySize - len(c.keyPrefix)
	if digits < 19 {
		max := int64(1)
		for i := 0; i < digits; i++ {
			max *= 10
		}
		if c.keySpace > max {
			fatalf("--key-space %d does not fit in %d-byte keys", c.keySpace, c.keySize)
		}
	}
	if c.consistency != "l" && c.consistency != "s" {
		fatalf("--consistency must be l or s")
	}
	if c.deadline <= 0 {
		if c.total > 0 || c.op == "ready" {
			c.deadline = 10 * time.Minute
		} else {
			c.deadline = c.warmup + c.duration + 60*time.Second
		}
	}
	return c
}

func newClient(c config, endpoints []string, dialTimeout time.Duration) (*clientv3.Client, error) {
	lc := zap.NewProductionConfig()
	lc.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	lc.OutputPaths = []string{"stderr"}
	lc.ErrorOutputPaths = []string{"stderr"}
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: dialTimeout,
		LogConfig:   &lc,
	})
}

// dialAll opens n clients. With --balance conn client i talks to endpoint
// i mod len(endpoints), so the connections spread evenly over the endpoint
// list; with --balance rr every client gets the whole list and clientv3's
// round-robin balancer rotates its requests over the endpoints.
func dialAll(c config, n int) []*clientv3.Client {
	out := make([]*clientv3.Client, n)
	for i := range out {
		eps := []string{c.endpoints[i%len(c.endpoints)]}
		if c.balance == "rr" {
			eps = c.endpoints
		}
		cli, err := newClient(c, eps, 5*time.Second)
		if err != nil {
			fatalf("connect %s: %v", strings.Join(eps, ","), err)
		}
		out[i] = cli
	}
	return out
}

// keyFor renders key number n as prefix + zero-padded digits, keySize bytes.
func keyFor(buf []byte, prefix string, n int64) string {
	copy(buf, prefix)
	i := len(buf) - 1
	for ; i >= len(prefix); i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf)
}

func randomValue(size int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	r := rand.New(rand.NewSource(1))
	b := make([]byte, size)
	for i := range b {
		b[i] = alphabet[r.Intn(len(alphabet))]
	}
	return string(b)
}

type stats struct {
	lat []time.Duration
}

func summarize(r *result, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		idx := int(p*float64(len(lat))+0.5) - 1
		if idx < 0 {
			idx = 0
		}
		if idx >= len(lat) {
			idx = len(lat) - 1
		}
		return ms(lat[idx])
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.P50Ms = pct(0.50)
	r.P90Ms = pct(0.90)
	r.P99Ms = pct(0.99)
	r.MaxMs = ms(lat[len(lat)-1])
	r.MeanMs = ms(sum / time.Duration(len(lat)))
}

func ms(d time.Duration) float64 {
	return float64(d.Nanoseconds()/1000) / 1000
}

// opFunc performs one request on worker-local state; it returns the error of
// the request.
type opFunc func(ctx context.Context, cn *conn, rng *rand.Rand, keyBuf []byte, ticket int64) error

// conn is one connection of the KV workers: clientv3 (what applications use,
// with its retry interceptors) or, with --raw, a bare gRPC channel and the
// generated KV stub, which costs the load generator less CPU per request.
// With --raw --balance rr a conn holds one channel per endpoint and rotates
// its requests over them, as clientv3's balancer does.
type conn struct {
	cli  *clientv3.Client
	raw  []*grpc.ClientConn
	kvs  []pb.KVClient
	next uint32
}

// kv is the stub for the next request, nil for a clientv3 conn.
func (cn *conn) kv() pb.KVClient {
	switch len(cn.kvs) {
	case 0:
		return nil
	case 1:
		return cn.kvs[0]
	}
	return cn.kvs[int(atomic.AddUint32(&cn.next, 1)%uint32(len(cn.kvs)))]
}

func (cn *conn) Close() {
	if cn.cli != nil {
		cn.cli.Close()
	}
	for _, cc := range cn.raw {
		cc.Close()
	}
}

func dialKV(c config, n int) []*conn {
	if !c.raw {
		clis := dialAll(c, n)
		out := make([]*conn, n)
		for i, cli := range clis {
			out[i] = &conn{cli: cli}
		}
		return out
	}
	out := make([]*conn, n)
	for i := range out {
		eps := []string{c.endpoints[i%len(c.endpoints)]}
		if c.balance == "rr" {
			eps = c.endpoints
		}
		cn := &conn{}
		for _, ep := range eps {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			cc, err := grpc.DialContext(ctx, ep, grpc.WithInsecure(), grpc.WithBlock())
			cancel()
			if err != nil {
				fatalf("connect %s: %v", ep, err)
			}
			cn.raw = append(cn.raw, cc)
			cn.kvs = append(cn.kvs, pb.NewKVClient(cc))
		}
		out[i] = cn
	}
	return out
}

// runPhase runs c.clients workers until the phase ends: when stopAt is
// reached, or when `limit` tickets have been handed out (limit > 0). Latencies
// are recorded only when record is true. It returns the recorded latencies and
// the time the last recorded request completed.
func runPhase(c config, clis []*conn, workers int, do opFunc, stopAt time.Time, limit int64, record bool, errs *errorLog) ([]time.Duration, time.Time) {
	var next int64 = -1
	var wg sync.WaitGroup
	per := make([]stats, workers)
	lastDone := make([]time.Time, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cli := clis[w%len(clis)]
			rng := rand.New(rand.NewSource(int64(w)*7919 + time.Now().UnixNano()))
			keyBuf := make([]byte, c.keySize)
			st := &per[w]
			if record {
				hint := 1024
				if limit > 0 && limit/int64(workers) < int64(hint) {
					hint = int(limit/int64(workers)) + 1
				}
				st.lat = make([]time.Duration, 0, hint)
			}
			for {
				var ticket int64
				if limit > 0 {
					ticket = atomic.AddInt64(&next, 1)
					if ticket >= limit {
						return
					}
				}
				t0 := time.Now()
				if limit <= 0 && !t0.Before(stopAt) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), c.reqTimeout)
				err := do(ctx, cli, rng, keyBuf, ticket)
				cancel()
				t1 := time.Now()
				if limit <= 0 && t1.After(stopAt) {
					// Completed after the window closed: not part of the measurement.
					return
				}
				if err != nil {
					if record {
						errs.add(err)
					}
					// Back off a little so a dead server is not spun on.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if record {
					st.lat = append(st.lat, t1.Sub(t0))
					lastDone[w] = t1
				}
			}
		}(w)
	}
	wg.Wait()
	n := 0
	for i := range per {
		n += len(per[i].lat)
	}
	all := make([]time.Duration, 0, n)
	var last time.Time
	for i := range per {
		all = append(all, per[i].lat...)
		if lastDone[i].After(last) {
			last = lastDone[i]
		}
	}
	return all, last
}

func kvOp(c config, value string) opFunc {
	switch c.op {
	case "put":
		return func(ctx context.Context, cn *conn, rng *rand.Rand, keyBuf []byte, ticket int64) error {
			var n int64
			if c.seqKeys && c.total > 0 {
				n = ticket % c.keySpace
			} else {
				n = rng.Int63n(c.keySpace)
			}
			key := keyFor(keyBuf, c.keyPrefix, n)
			if kv := cn.kv(); kv != nil {
				_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte(value)})
				return err
			}
			_, err := cn.cli.Put(ctx, key, value)
			return err
		}
	case "range":
		var opts []clientv3.OpOption
		if c.consistency == "s" {
			opts = append(opts, clientv3.WithSerializable())
		}
		serializable := c.consistency == "s"
		return func(ctx context.Context, cn *conn, rng *rand.Rand, keyBuf []byte, ticket int64) error {
			key := keyFor(keyBuf, c.keyPrefix, rng.Int63n(c.keySpace))
			if kv := cn.kv(); kv != nil {
				_, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte(key), Serializable: serializable})
				return err
			}
			_, err := cn.cli.Get(ctx, key, opts...)
			return err
		}
	}
	fatalf("unknown --op %q", c.op)
	return nil
}

func runKV(c config, base result, errs *errorLog) result {
	value := randomValue(c.valSize)
	clis := dialKV(c, c.conns)
	defer func() {
		for _, cli := range clis {
			cli.Close()
		}
	}()
	r := base
	r.KeySpace = c.keySpace
	if c.op == "range" {
		r.Consistency = c.consistency
		if c.prefill == "auto" || c.prefill == "true" || c.prefill == "yes" {
			t0 := time.Now()
			pc := c
			pc.op, pc.seqKeys, pc.total = "put", true, c.keySpace
			workers := c.clients
			if workers < 16 {
				workers = 16
			}
			var perrs errorLog
			runPhase(pc, clis, workers, kvOp(pc, value), time.Time{}, c.keySpace, true, &perrs)
			if perrs.count() > 0 {
				fatalf("prefill failed: %d errors, first: %s", perrs.count(), perrs.firstMessage())
			}
			r.PrefillSecs = time.Since(t0).Seconds()
		}
	}
	do := kvOp(c, value)
	if c.warmup > 0 {
		var werrs errorLog
		runPhase(c, clis, c.clients, do, time.Now().Add(c.warmup), 0, false, &werrs)
	}
	meter := cpuMeter{pids: c.serverPids}
	meter.start()
	start := time.Now()
	var lat []time.Duration
	if c.total > 0 {
		var last time.Time
		lat, last = runPhase(c, clis, c.clients, do, time.Time{}, c.total, true, errs)
		if last.IsZero() {
			last = time.Now()
		}
		r.Seconds = last.Sub(start).Seconds()
	} else {
		lat, _ = runPhase(c, clis, c.clients, do, start.Add(c.duration), 0, true, errs)
		r.Seconds = c.duration.Seconds()
	}
	r.Ops = int64(len(lat))
	meter.finish(&r)
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
	}
	summarize(&r, lat)
	return r
}

// watchCell prepares a watch cell: c.clients watchers spread over c.streams
// streams (at most one watcher per stream), recorded in r, and the
// connections for the watchers and for the writer; closeAll closes them.
func watchCell(c config, base result) (r result, watchers, streams int, clis []*clientv3.Client, putCli *clientv3.Client, closeAll func()) {
	r = base
	watchers = c.clients
	streams = c.streams
	if streams <= 0 || streams > watchers {
		streams = watchers
	}
	r.Watchers, r.Streams = watchers, streams
	clis = dialAll(c, c.conns)
	putCli = dialAll(c, 1)[0]
	closeAll = func() {
		for _, cli := range clis {
			cli.Close()
		}
		putCli.Close()
	}
	return
}

// runWatchLatency opens c.clients watchers on one key, then puts to that key at
// c.putRate. Every value carries its send time (monotonic, relative to the
// process start) and whether it belongs to the measurement; each watcher
// records receive time minus send time for every measured event. Events that
// never arrive are counted as errors.
func runWatchLatency(c config, base result, errs *errorLog) result {
	r, watchers, streams, clis, putCli, closeAll := watchCell(c, base)
	defer closeAll()
	epoch := time.Now()
	type watcherStats struct {
		lat      []time.Duration
		received int64
	}
	ws := make([]watcherStats, watchers)
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	var wg sync.WaitGroup
	created := make(chan error, watchers)
	for i := 0; i < watchers; i++ {
		cli := clis[i%len(clis)]
		// clientv3 shares one gRPC stream between watches whose contexts carry
		// the same metadata; a distinct tag gives a watcher its own stream.
		ctx := metadata.AppendToOutgoingContext(wctx, "bench-stream", strconv.Itoa(i%streams))
		wch := cli.Watch(ctx, c.watchKey, clientv3.WithCreatedNotify())
		wg.Add(1)
		go func(i int, wch clientv3.WatchChan) {
			defer wg.Done()
			st := &ws[i]
			first := true
			for resp := range wch {
				if first {
					first = false
					if resp.Created {
						created <- nil
						continue
					}
					created <- errors.New("first watch response was not a creation")
				}
				if err := resp.Err(); err != nil {
					errs.add(err)
					continue
				}
				now := time.Since(epoch)
				for _, ev := range resp.Events {
					v := ev.Kv.Value
					if len(v) < 2 || v[0] != 'M' {
						continue
					}
					end := 1
					for end < len(v) && v[end] != '.' {
						end++
					}
					sent, err := strconv.ParseInt(string(v[1:end]), 10, 64)
					if err != nil {
						continue
					}
					st.lat = append(st.lat, now-time.Duration(sent))
					atomic.AddInt64(&st.received, 1)
				}
			}
			if first {
				created <- errors.New("watch channel closed before creation")
			}
		}(i, wch)
	}
	createDeadline := time.After(30 * time.Second)
	for i := 0; i < watchers; i++ {
		select {
		case err := <-created:
			if err != nil {
				fatalf("watch create: %v", err)
			}
		case <-createDeadline:
			fatalf("watch create: %d of %d watchers created within 30s", i, watchers)
		}
	}
	value := func(measured bool) string {
		tag := byte('W')
		if measured {
			tag = 'M'
		}
		s := string(tag) + strconv.FormatInt(int64(time.Since(epoch)), 10) + "."
		if len(s) < c.valSize {
			s += strings.Repeat("x", c.valSize-len(s))
		}
		return s
	}
	var interval time.Duration
	if c.putRate > 0 {
		interval = time.Duration(float64(time.Second) / c.putRate)
	}
	var putLat []time.Duration
	putLoop := func(measured bool, until time.Time, limit int64) int64 {
		var ok int64
		next := time.Now()
		for n := int64(0); ; n++ {
			if limit > 0 && n >= limit {
				break
			}
			if limit <= 0 && !time.Now().Before(until) {
				break
			}
			if interval > 0 {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.reqTimeout)
			t0 := time.Now()
			_, err := putCli.Put(ctx, c.watchKey, value(measured))
			cancel()
			if err != nil {
				if measured {
					errs.add(err)
				}
				continue
			}
			if measured {
				putLat = append(putLat, time.Since(t0))
			}
			ok++
		}
		return ok
	}
	if c.warmup > 0 {
		putLoop(false, time.Now().Add(c.warmup), 0)
	}
	meter := cpuMeter{pids: c.serverPids}
	meter.start()
	start := time.Now()
	puts := putLoop(true, start.Add(c.duration), c.total)
	r.Seconds = time.Since(start).Seconds()
	r.Puts = puts
	expected := puts * int64(watchers)
	received := func() int64 {
		var n int64
		for i := range ws {
			n += atomic.LoadInt64(&ws[i].received)
		}
		return n
	}
	grace := time.Now().Add(10 * time.Second)
	for received() < expected && time.Now().Before(grace) {
		time.Sleep(5 * time.Millisecond)
	}
	wcancel()
	wg.Wait()
	var lat []time.Duration
	for i := range ws {
		lat = append(lat, ws[i].lat...)
	}
	if missing := expected - int64(len(lat)); missing > 0 {
		errs.add(fmt.Errorf("%d watch events not delivered within 10s", missing))
		atomic.AddInt64(&errs.n, missing-1)
	}
	r.Ops = int64(len(lat))
	meter.finish(&r)
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
	}
	summarize(&r, lat)
	var pr result
	summarize(&pr, putLat)
	r.PutP50Ms, r.PutP99Ms = pr.P50Ms, pr.P99Ms
	return r
}

// runWatchFanout opens c.clients watchers on one key, spread over c.streams
// watch streams and c.conns connections, optionally waits c.idle with all of
// them idle (announcing it on stderr, so that the caller can sample the
// server's memory), then puts to the key one put at a time: each put is sent
// only after every watcher received the previous one, and c.putRate paces
// them. For every measured put it records the time from sending the put to
// the moment its event reached the last watcher; the reported percentiles
// are of that fan-out time (ops = measured puts). The latency of each single
// delivery is summarised too (event_*). Events missing after 30 s count as
// errors.
func runWatchFanout(c config, base result, errs *errorLog) result {
	r, watchers, streams, clis, putCli, closeAll := watchCell(c, base)
	defer closeAll()
	total := int(c.total)
	if total <= 0 {
		total = 20
	}
	warm := c.fanoutWarm
	if warm < 0 {
		warm = 0
	}
	n := warm + total
	type track struct {
		sent int64 // ns since epoch
		got  int64
		last int64 // ns since epoch, when got reached watchers
		done chan struct{}
	}
	tracks := make([]track, n)
	for i := range tracks {
		tracks[i].done = make(chan struct{})
	}
	epoch := time.Now()
	lats := make([][]time.Duration, watchers)
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	var wg sync.WaitGroup
	created := make(chan error, watchers)
	createStart := time.Now()
	for i := 0; i < watchers; i++ {
		cli := clis[i%len(clis)]
		ctx := metadata.AppendToOutgoingContext(wctx, "bench-stream", strconv.Itoa(i%streams))
		wch := cli.Watch(ctx, c.watchKey, clientv3.WithCreatedNotify())
		wg.Add(1)
		go func(i int, wch clientv3.WatchChan) {
			defer wg.Done()
			first := true
			for resp := range wch {
				if first {
					first = false
					if resp.Created {
						created <- nil
						continue
					}
					created <- errors.New("first watch response was not a creation")
				}
				if err := resp.Err(); err != nil {
					errs.add(err)
					continue
				}
				now := int64(time.Since(epoch))
				for _, ev := range resp.Events {
					v := ev.Kv.Value
					if len(v) < 2 || v[0] != 'F' {
						continue
					}
					end := 1
					for end < len(v) && v[end] != '.' {
						end++
					}
					idx, err := strconv.Atoi(string(v[1:end]))
					if err != nil || idx < 0 || idx >= n {
						continue
					}
					t := &tracks[idx]
					if idx >= warm {
						lats[i] = append(lats[i], time.Duration(now-atomic.LoadInt64(&t.sent)))
					}
					if atomic.AddInt64(&t.got, 1) == int64(watchers) {
						atomic.StoreInt64(&t.last, now)
						close(t.done)
					}
				}
			}
			if first {
				created <- errors.New("watch channel closed before creation")
			}
		}(i, wch)
	}
	createDeadline := time.After(120 * time.Second)
	for i := 0; i < watchers; i++ {
		select {
		case err := <-created:
			if err != nil {
				fatalf("watch create: %v", err)
			}
		case <-createDeadline:
			fatalf("watch create: %d of %d watchers created within 120s", i, watchers)
		}
	}
	r.CreateMs = ms(time.Since(createStart))
	if c.idle > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d watchers idle for %s\n", watchers, c.idle)
		time.Sleep(c.idle)
		fmt.Fprintf(os.Stderr, "loadgen: idle period over\n")
	}
	var interval time.Duration
	if c.putRate > 0 {
		interval = time.Duration(float64(time.Second) / c.putRate)
	}
	valuePad := ""
	var putLat []time.Duration
	meter := cpuMeter{pids: c.serverPids}
	var fan []time.Duration
	var start time.Time
	for i := 0; i < n; i++ {
		if i == warm {
			meter.start()
			start = time.Now()
		}
		next := time.Now().Add(interval)
		v := "F" + strconv.Itoa(i) + "."
		if len(v) < c.valSize {
			if len(valuePad) < c.valSize {
				valuePad = strings.Repeat("x", c.valSize)
			}
			v += valuePad[:c.valSize-len(v)]
		}
		t := &tracks[i]
		atomic.StoreInt64(&t.sent, int64(time.Since(epoch)))
		ctx, cancel := context.WithTimeout(context.Background(), c.reqTimeout)
		t0 := time.Now()
		_, err := putCli.Put(ctx, c.watchKey, v)
		cancel()
		if err != nil {
			errs.add(err)
			continue
		}
		if i >= warm {
			putLat = append(putLat, time.Since(t0))
		}
		select {
		case <-t.done:
			if i >= warm {
				fan = append(fan, time.Duration(atomic.LoadInt64(&t.last)-atomic.LoadInt64(&t.sent)))
			}
		case <-time.After(30 * time.Second):
			missing := int64(watchers) - atomic.LoadInt64(&t.got)
			errs.add(fmt.Errorf("put %d: %d of %d watchers did not receive it within 30s", i, missing, watchers))
			atomic.AddInt64(&errs.n, missing-1)
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	if !start.IsZero() {
		r.Seconds = time.Since(start).Seconds()
	}
	r.Puts = int64(len(fan))
	r.Ops = int64(len(fan))
	meter.finish(&r)
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
	}
	wcancel()
	wg.Wait()
	var all []time.Duration
	for i := range lats {
		all = append(all, lats[i]...)
	}
	var ev result
	summarize(&ev, all)
	r.EventP50Ms, r.EventP99Ms, r.EventMaxMs = ev.P50Ms, ev.P99Ms, ev.MaxMs
	var pr result
	summarize(&pr, putLat)
	r.PutP50Ms, r.PutP99Ms = pr.P50Ms, pr.P99Ms
	summarize(&r, fan)
	return r
}

// runReady polls until a linearizable Range succeeds, and reports the time
// from --since-unix-ns (the moment the server was spawned) to that success.
func runReady(c config, base result, errs *errorLog, started time.Time) result {
	r := base
	var since time.Time
	if c.sinceUnixNs > 0 {
		since = time.Unix(0, c.sinceUnixNs)
	} else {
		since = started
	}
	ep := c.endpoints[0]
	for {
		r.Attempts++
		conn, err := net.DialTimeout("tcp", ep, 200*time.Millisecond)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		conn.Close()
		cli, err := newClient(c, []string{ep}, 2*time.Second)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = cli.Get(ctx, "bench-ready-probe")
		cancel()
		cli.Close()
		if err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Wall clock against wall clock: since comes from another process.
	ready := time.Now().Sub(since)
	r.ReadyMs = ms(ready)
	r.Ops = 1
	r.Seconds = ready.Seconds()
	r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs, r.MeanMs = r.ReadyMs, r.ReadyMs, r.ReadyMs, r.ReadyMs, r.ReadyMs
	return r
}

// runStatus asks every endpoint for its Maintenance.Status: member ID,
// leader ID, raft term and index, current revision, db size.
func runStatus(c config, base result, errs *errorLog) result {
	r := base
	for _, ep := range c.endpoints {
		st := memberStatus{Endpoint: ep}
		cli, err := newClient(c, []string{ep}, 2*time.Second)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.reqTimeout)
			var resp *clientv3.StatusResponse
			resp, err = cli.Status(ctx, ep)
			cancel()
			cli.Close()
			if err == nil {
				st.MemberID = fmt.Sprintf("%x", resp.Header.MemberId)
				st.Leader = fmt.Sprintf("%x", resp.Leader)
				st.RaftTerm = resp.RaftTerm
				st.RaftIndex = resp.RaftIndex
				st.Revision = resp.Header.Revision
				st.DbSize = resp.DbSize
			}
		}
		if err != nil {
			st.Error = err.Error()
			errs.add(fmt.Errorf("%s: %v", ep, err))
		} else {
			r.Ops++
		}
		r.Status = append(r.Status, st)
	}
	return r
}

// runCount reports, as ops, how many keys start with --key-prefix
// (a linearizable count-only Range).
func runCount(c config, base result, errs *errorLog) result {
	r := base
	cli := dialAll(c, 1)[0]
	defer cli.Close()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.reqTimeout)
	resp, err := cli.Get(ctx, c.keyPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	cancel()
	d := time.Since(t0)
	if err != nil {
		errs.add(err)
		return r
	}
	r.Ops = resp.Count
	r.Seconds = d.Seconds()
	r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs, r.MeanMs = ms(d), ms(d), ms(d), ms(d), ms(d)
	return r
}

func main() {
	started := time.Now()
	if os.Getenv("GOGC") == "" {
		// Fewer collections: the latency slices are the only large heap and
		// the CPU saved goes to the server under test.
		debug.SetGCPercent(400)
	}
	c := parseFlags()
	base := result{
		Op:        c.op,
		Clients:   c.clients,
		Conns:     c.conns,
		Endpoints: strings.Join(c.endpoints, ","),
	}
	var errs errorLog
	time.AfterFunc(c.deadline, func() {
		r := base
		r.Errors = errs.count() + 1
		r.FirstError = errs.firstMessage()
		r.Aborted = fmt.Sprintf("hard deadline of %s exceeded", c.deadline)
		if emit(r) {
			fmt.Fprintf(os.Stderr, "loadgen: %s\n", r.Aborted)
			os.Exit(3)
		}
	})
	var r result
	switch c.op {
	case "put", "range":
		r = runKV(c, base, &errs)
	case "watch-latency":
		r = runWatchLatency(c, base, &errs)
	case "watch-fanout":
		r = runWatchFanout(c, base, &errs)
	case "ready":
		r = runReady(c, base, &errs, started)
	case "count":
		r = runCount(c, base, &errs)
	case "status":
		r = runStatus(c, base, &errs)
	default:
		fatalf("unknown --op %q (put | range | watch-latency | watch-fanout | ready | count | status)", c.op)
	}
	r.Errors = errs.count()
	r.FirstError = errs.firstMessage()
	if !emit(r) {
		// The deadline already reported; it exits on its own.
		select {}
	}
}
