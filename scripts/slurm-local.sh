#!/usr/bin/env bash
# A real single-node Slurm on this machine, for the pipeline's Slurm integration test (Debian slurm-wlm + munge).
# usage: scripts/slurm-local.sh start DIR   -> starts munged, slurmctld, slurmd with state under DIR; prints nothing on success
#        scripts/slurm-local.sh stop DIR    -> stops the daemons it started (by their pid files)
# Needs root (it writes /etc/munge/munge.key when absent and /etc/slurm/slurm.conf).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?state folder}
mkdir -p "$dir"
# The daemons outlive this script, so they must not inherit any descriptor but 0-2: a caller's pipe, or the socket
# by which Foundation's Process (the test suite's) learns that this script has exited, would stay open for as long
# as munged runs, and the caller would wait for ever (this hung CI once). 255 is bash's handle on this script.
for fd in /proc/$$/fd/*; do
    n=${fd##*/}
    case $n in 0|1|2|255) ;; *) eval "exec $n>&-" ;; esac
done
case "$cmd" in
start)
    command -v slurmctld >/dev/null && command -v munged >/dev/null || { echo "slurm-wlm/munge not installed" >&2; exit 3; }
    [ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 3; }
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge; chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if ! munge -n </dev/null >/dev/null 2>&1; then   # no munged answering (a zombie one does not count)
        runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1
        cat /run/munge/munged.pid > "$dir/munged.started-here" 2>/dev/null || true   # stop ends only this one
    fi
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(free -m | awk '/Mem:/{print $2}') * 8 / 10 ))
    mkdir -p "$dir/state" "$dir/spool" /etc/slurm
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=desispec-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    # the daemons must not keep the caller's output pipes open
    /usr/sbin/slurmctld </dev/null >/dev/null 2>&1
    /usr/sbin/slurmd </dev/null >/dev/null 2>&1
    for _ in $(seq 1 30); do
        if sinfo -h -o %T 2>/dev/null | grep -qE '^idle'; then exit 0; fi
        sleep 1
    done
    echo "slurm did not come up: $(sinfo 2>&1 | tail -1)" >&2
    exit 4
    ;;
stop)
    for p in slurmd slurmctld; do
        [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
    done
    [ -f "$dir/munged.started-here" ] && kill $(cat "$dir/munged.started-here") 2>/dev/null || true
    ;;
esac
