//go:build interop

package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a process the tier started: each in its own process group, in a
// working directory under the tier's work directory (which is how leftovers
// are recognised, see leftovers), with its output in a log file.
type server struct {
	name    string
	cmd     *exec.Cmd
	log     string
	pidFile string // a daemon that is not cmd's process: its pid is read from here at stop
	done    chan struct{}
	waitErr error
}

// start runs argv in dir with stdout and stderr appended to logFile.
func start(name, dir, logFile string, argv ...string) (*server, error) {
	out, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(cleanEnv(), "TMPDIR="+dir)
	// Own process group: stop kills the server and whatever it forked. The
	// death signal stops it if the test binary dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// running reports whether the process started is still alive.
func (s *server) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop ends the server: SIGTERM to the daemon named by its pid file (Postfix's
// master leaves the group it was started in) and to the process group, then
// SIGKILL after a grace period.
func (s *server) stop(grace time.Duration) error {
	var errs []error
	if s.pidFile != "" {
		if pid, err := readPid(s.pidFile); err == nil {
			if err := terminate(pid, grace); err != nil {
				errs = append(errs, fmt.Errorf("%s: pid %d from %s: %w", s.name, pid, s.pidFile, err))
			}
		}
	}
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(grace):
			errs = append(errs, fmt.Errorf("%s: pid %d did not exit after SIGKILL", s.name, pgid))
		}
		errs = append(errs, fmt.Errorf("%s: did not stop within %v of SIGTERM (killed)", s.name, grace))
	}
	// Whatever is left in the group (children that ignore SIGTERM).
	syscall.Kill(-pgid, syscall.SIGKILL)
	return errors.Join(errs...)
}

func readPid(name string) (int, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// alive reports whether pid is a live process (a zombie is dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// terminate sends SIGTERM to pid and waits for it to go, then SIGKILL.
func terminate(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("did not stop within %v of SIGTERM (killed)", grace)
}

// leftover is a process that belongs to the tier.
type leftover struct {
	pid  int
	what string
}

func (l leftover) String() string { return fmt.Sprintf("pid %d (%s)", l.pid, l.what) }

// leftovers lists the processes whose working directory or command line is in
// work, other than this one: every server runs in a directory under work, and
// Postfix's daemons in its queue directory.
func leftovers(work string) []leftover {
	ents, _ := os.ReadDir("/proc")
	var out []leftover
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if cwd == work || strings.HasPrefix(cwd, work+"/") || strings.Contains(args, work+"/") {
			out = append(out, leftover{pid: pid, what: fmt.Sprintf("%s, in %s", args, cwd)})
		}
	}
	return out
}

// procs records the servers started, in order, and stops them in reverse.
type procs struct {
	mu      sync.Mutex
	list    []*server
	pidsLog string // every pid started, for interop/testdata/reap.sh
}

func (p *procs) add(s *server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
	if f, err := os.OpenFile(p.pidsLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(f, "%d %s\n", s.cmd.Process.Pid, s.name)
		f.Close()
	}
}

// note records a process that a server forked and that left its group (for
// interop/testdata/reap.sh).
func (p *procs) note(pid int, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, err := os.OpenFile(p.pidsLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(f, "%d %s\n", pid, name)
		f.Close()
	}
}

// stopAll stops every server, the last started first. It is safe to call more
// than once.
func (p *procs) stopAll() error {
	p.mu.Lock()
	list := p.list
	p.list = nil
	p.mu.Unlock()
	var errs []error
	for i := len(list) - 1; i >= 0; i-- {
		if err := list[i].stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanEnv is the environment without proxies: nothing of the tier may leave
// the machine or go through a proxy.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "segcli_data_dir":
			continue
		}
		out = append(out, kv)
	}
	return out
}
