package faultfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// capSysAdmin is the bit of CAP_SYS_ADMIN in /proc/self/status CapEff.
const capSysAdmin = 21

// Available reports whether this process can mount a FUSE file system
// with Mount: it needs /dev/fuse (a character device it can open), FUSE
// in the kernel, and root or CAP_SYS_ADMIN (Mount uses mount(2) directly,
// not fusermount). The error names the missing piece and the fix.
func Available() error {
	st, err := os.Stat("/dev/fuse")
	if err != nil {
		return fmt.Errorf("faultfs: /dev/fuse: %v (load the module with `modprobe fuse`; in a container pass --device /dev/fuse)", err)
	}
	if st.Mode()&os.ModeCharDevice == 0 {
		return errors.New("faultfs: /dev/fuse is not a character device (recreate it: `mknod /dev/fuse c 10 229`)")
	}
	if !privileged() {
		return fmt.Errorf("faultfs: mounting needs root or CAP_SYS_ADMIN (euid is %d; run as root, or in a container add --cap-add SYS_ADMIN)", os.Geteuid())
	}
	fd, err := syscall.Open("/dev/fuse", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("faultfs: open /dev/fuse: %v (in a container pass --device /dev/fuse and allow it in the device cgroup)", err)
	}
	syscall.Close(fd)
	return nil
}

func privileged() bool {
	if os.Geteuid() == 0 {
		return true
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		return err == nil && caps&(1<<capSysAdmin) != 0
	}
	return false
}
