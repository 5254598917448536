//! QEMU's device options: `-drive`, `-device`, `-nic`, `-netdev` (their `key=value,...`
//! syntax, `,,` for a comma inside a value), and the argv rewriting that lets clap
//! take QEMU's single-dash long options.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::error::LaunchError;

/// A `-drive`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveSpec {
    pub path: PathBuf,
    pub readonly: bool,
}

/// One `hostfwd=` rule: host address/port to guest port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFwd {
    pub udp: bool,
    pub host_addr: Ipv4Addr,
    pub host_port: u16,
    pub guest_addr: Option<Ipv4Addr>,
    pub guest_port: u16,
}

/// A user-mode network interface (`-nic user` or `-netdev user` + its `-device`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetSpec {
    pub hostfwd: Vec<HostFwd>,
}

/// The devices the command line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSet {
    pub drives: Vec<DriveSpec>,
    pub nets: Vec<NetSpec>,
    pub rng: bool,
}

/// QEMU options that clap knows as `--NAME`; the bool says whether one takes a value.
const QEMU_OPTIONS: &[(&str, bool)] = &[
    ("kernel", true),
    ("initrd", true),
    ("append", true),
    ("drive", true),
    ("device", true),
    ("nic", true),
    ("netdev", true),
    ("nographic", false),
];

/// Options of ours that take a value (their value is never rewritten).
const VALUE_OPTIONS: &[&str] = &["--engine", "--guest", "--cpu", "--memory", "-m"];

/// Rewrites QEMU's `-kernel X` style to `--kernel X` for clap; any other single-dash
/// word longer than one letter is an unsupported option (error text for a usage error).
pub fn rewrite_args(args: Vec<String>) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    if let Some(prog) = it.next() {
        out.push(prog);
    }
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a);
            out.extend(it);
            break;
        }
        let takes_value = if let Some(name) = a.strip_prefix('-').filter(|n| !n.starts_with('-')) {
            if name.len() > 1 {
                let (key, _) = name.split_once('=').unwrap_or((name, ""));
                match QEMU_OPTIONS.iter().find(|o| o.0 == key) {
                    Some(&(_, v)) => {
                        out.push(format!("-{a}"));
                        v && !name.contains('=')
                    }
                    None => return Err(format!("unsupported option '{a}'")),
                }
            } else {
                out.push(a.clone());
                a == "-m"
            }
        } else {
            out.push(a.clone());
            VALUE_OPTIONS.contains(&a.as_str())
                || QEMU_OPTIONS
                    .iter()
                    .any(|o| o.1 && a.strip_prefix("--") == Some(o.0))
        };
        if takes_value {
            if let Some(v) = it.next() {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Splits `a=b,c=d` (with `,,` an escaped comma) into (key, value) pairs; a part
/// without `=` has an empty key.
fn split_opts(s: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                parts.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (String::new(), p),
        })
        .collect()
}

fn bad(option: &'static str, value: &str, reason: impl Into<String>) -> LaunchError {
    LaunchError::DeviceOption {
        option,
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn on_off(option: &'static str, value: &str, v: &str) -> Result<bool, LaunchError> {
    match v {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(bad(option, value, format!("{v:?} is not on or off"))),
    }
}

/// Parses one `-drive` value.
pub fn parse_drive(value: &str) -> Result<DriveSpec, LaunchError> {
    let mut path = None;
    let mut readonly = false;
    for (k, v) in split_opts(value) {
        match k.as_str() {
            "file" if !v.is_empty() => path = Some(PathBuf::from(v)),
            "format" if v == "raw" => {}
            "format" => {
                return Err(bad(
                    "-drive",
                    value,
                    format!("format {v:?} is not supported (only raw)"),
                ))
            }
            "if" if v == "virtio" => {}
            "if" => {
                return Err(bad(
                    "-drive",
                    value,
                    format!("if={v} is not supported (only if=virtio)"),
                ))
            }
            "readonly" => readonly = on_off("-drive", value, &v)?,
            "media" if v == "disk" => {}
            "id" | "cache" | "aio" | "discard" => {}
            "" => return Err(bad("-drive", value, format!("{v:?} is not key=value"))),
            k => return Err(bad("-drive", value, format!("unsupported key {k:?}"))),
        }
    }
    let path = path.ok_or_else(|| bad("-drive", value, "file=PATH is missing"))?;
    Ok(DriveSpec { path, readonly })
}

/// Parses `tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT` (addresses optional).
pub fn parse_hostfwd(s: &str) -> Option<HostFwd> {
    let (proto, rest) = match s.split_once(':') {
        Some((p @ ("tcp" | "udp"), r)) => (p, r),
        Some(("", r)) => ("tcp", r),
        _ => ("tcp", s),
    };
    let (host, guest) = rest.split_once('-')?;
    let (ha, hp) = host.split_once(':')?;
    let (ga, gp) = guest.split_once(':')?;
    let host_addr = if ha.is_empty() {
        Ipv4Addr::UNSPECIFIED
    } else {
        ha.parse().ok()?
    };
    let guest_addr = if ga.is_empty() {
        None
    } else {
        Some(ga.parse().ok()?)
    };
    Some(HostFwd {
        udp: proto == "udp",
        host_addr,
        host_port: hp.parse().ok()?,
        guest_addr,
        guest_port: gp.parse().ok().filter(|&p: &u16| p != 0)?,
    })
}

/// The options of a `user` backend; the keys not handled are returned.
fn user_opts(
    option: &'static str,
    value: &str,
    opts: Vec<(String, String)>,
    net: &mut NetSpec,
) -> Result<Vec<(String, String)>, LaunchError> {
    let mut rest = Vec::new();
    for (k, v) in opts {
        match k.as_str() {
            "hostfwd" => net.hostfwd.push(parse_hostfwd(&v).ok_or_else(|| {
                bad(
                    option,
                    value,
                    format!("bad hostfwd {v:?} (tcp:[ADDR]:PORT-[ADDR]:PORT)"),
                )
            })?),
            _ => rest.push((k, v)),
        }
    }
    Ok(rest)
}

/// Builds the device set from every `-drive`, `-device`, `-nic` and `-netdev`.
pub fn parse_devices(
    drives: &[String],
    devices: &[String],
    nics: &[String],
    netdevs: &[String],
) -> Result<DeviceSet, LaunchError> {
    let mut set = DeviceSet::default();
    for d in drives {
        set.drives.push(parse_drive(d)?);
    }
    for n in nics {
        let mut opts = split_opts(n).into_iter();
        match opts.next() {
            Some((k, v)) if k.is_empty() && v == "none" => continue,
            Some((k, v)) if k.is_empty() && v == "user" => {}
            _ => {
                return Err(bad(
                    "-nic",
                    n,
                    "only user networking is supported (-nic user,...)",
                ))
            }
        }
        let mut net = NetSpec::default();
        for (k, v) in user_opts("-nic", n, opts.collect(), &mut net)? {
            match k.as_str() {
                "model" if v == "virtio-net-device" || v == "virtio" || v == "virtio-net-pci" => {}
                "model" => {
                    return Err(bad(
                        "-nic",
                        n,
                        format!("model {v:?} is not supported (virtio-net-device)"),
                    ))
                }
                "id" | "mac" => {}
                k => return Err(bad("-nic", n, format!("unsupported key {k:?}"))),
            }
        }
        set.nets.push(net);
    }
    let mut backends: Vec<(String, NetSpec, bool)> = Vec::new();
    for n in netdevs {
        let mut opts = split_opts(n).into_iter();
        match opts.next() {
            Some((k, v)) if k.is_empty() && v == "user" => {}
            _ => {
                return Err(bad(
                    "-netdev",
                    n,
                    "only user networking is supported (-netdev user,id=ID)",
                ))
            }
        }
        let mut net = NetSpec::default();
        let mut id = None;
        for (k, v) in user_opts("-netdev", n, opts.collect(), &mut net)? {
            match k.as_str() {
                "id" if !v.is_empty() => id = Some(v),
                k => return Err(bad("-netdev", n, format!("unsupported key {k:?}"))),
            }
        }
        let id = id.ok_or_else(|| bad("-netdev", n, "id=ID is missing"))?;
        if backends.iter().any(|b| b.0 == id) {
            return Err(bad("-netdev", n, format!("duplicate id {id:?}")));
        }
        backends.push((id, net, false));
    }
    for d in devices {
        let mut opts = split_opts(d).into_iter();
        let driver = match opts.next() {
            Some((k, v)) if k.is_empty() => v,
            _ => return Err(bad("-device", d, "the device name comes first")),
        };
        let opts: Vec<_> = opts.collect();
        match driver.as_str() {
            "virtio-rng-device" | "virtio-rng-pci" => {
                if let Some((k, _)) = opts.iter().find(|(k, _)| k != "id") {
                    return Err(bad("-device", d, format!("unsupported key {k:?}")));
                }
                if set.rng {
                    return Err(bad("-device", d, "only one virtio-rng device is supported"));
                }
                set.rng = true;
            }
            "virtio-net-device" | "virtio-net-pci" => {
                let mut netdev = None;
                for (k, v) in opts {
                    match k.as_str() {
                        "netdev" => netdev = Some(v),
                        "id" | "mac" => {}
                        k => return Err(bad("-device", d, format!("unsupported key {k:?}"))),
                    }
                }
                let id = netdev.ok_or_else(|| bad("-device", d, "netdev=ID is missing"))?;
                let b = backends
                    .iter_mut()
                    .find(|b| b.0 == id)
                    .ok_or_else(|| bad("-device", d, format!("no -netdev with id {id:?}")))?;
                if b.2 {
                    return Err(bad("-device", d, format!("netdev {id:?} is already used")));
                }
                b.2 = true;
                set.nets.push(b.1.clone());
            }
            other => {
                return Err(bad(
                    "-device",
                    d,
                    format!(
                        "device {other:?} is not supported (virtio-rng-device, virtio-net-device)"
                    ),
                ))
            }
        }
    }
    if let Some(b) = backends.iter().find(|b| !b.2) {
        return Err(bad(
            "-netdev",
            &b.0,
            "no -device virtio-net-device uses this netdev",
        ));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rewrite() {
        assert_eq!(
            rewrite_args(s(&[
                "l",
                "-kernel",
                "-x",
                "-m",
                "1G",
                "-append",
                "-kernel",
                "-nographic"
            ]))
            .unwrap(),
            s(&[
                "l",
                "--kernel",
                "-x",
                "-m",
                "1G",
                "--append",
                "-kernel",
                "--nographic"
            ])
        );
        assert_eq!(
            rewrite_args(s(&["l", "--append", "-smp", "-drive=file=x"])).unwrap(),
            s(&["l", "--append", "-smp", "--drive=file=x"])
        );
        assert_eq!(
            rewrite_args(s(&["l", "-smp", "2"])).unwrap_err(),
            "unsupported option '-smp'"
        );
        assert_eq!(
            rewrite_args(s(&["l", "--", "-smp"])).unwrap(),
            s(&["l", "--", "-smp"])
        );
    }

    #[test]
    fn drives() {
        assert_eq!(
            parse_drive("file=a,,b.img,format=raw,if=virtio,readonly=on").unwrap(),
            DriveSpec {
                path: "a,b.img".into(),
                readonly: true
            }
        );
        assert!(!parse_drive("file=x").unwrap().readonly);
        for bad in [
            "format=raw",
            "file=x,format=qcow2",
            "file=x,if=ide",
            "file=x,readonly=maybe",
            "file=x,snapshot=on",
            "file=",
            "x.img",
        ] {
            let e = parse_drive(bad).unwrap_err();
            assert_eq!(e.exit_code().code(), 50, "{bad}");
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn hostfwd() {
        assert_eq!(
            parse_hostfwd("tcp:127.0.0.1:2222-:22"),
            Some(HostFwd {
                udp: false,
                host_addr: Ipv4Addr::LOCALHOST,
                host_port: 2222,
                guest_addr: None,
                guest_port: 22
            })
        );
        assert_eq!(
            parse_hostfwd("::8080-10.0.2.15:80").unwrap().guest_addr,
            Some(Ipv4Addr::new(10, 0, 2, 15))
        );
        assert!(parse_hostfwd("udp::53-:53").unwrap().udp);
        for bad in [
            "tcp:1.2.3.4:22",
            "tcp::x-:22",
            "tcp::22-:0",
            "sctp::1-:2",
            "tcp:999.1.1.1:1-:2",
        ] {
            assert_eq!(parse_hostfwd(bad), None, "{bad}");
        }
    }

    #[test]
    fn device_sets() {
        let d = parse_devices(
            &s(&["file=a.img"]),
            &s(&["virtio-rng-device", "virtio-net-device,netdev=n0"]),
            &s(&["user,hostfwd=tcp::2222-:22"]),
            &s(&["user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80"]),
        )
        .unwrap();
        assert_eq!(d.drives.len(), 1);
        assert!(d.rng);
        assert_eq!(d.nets.len(), 2);
        assert_eq!(d.nets[1].hostfwd[0].host_port, 8080);
        let none = parse_devices(&[], &[], &s(&["none"]), &[]).unwrap();
        assert_eq!(none, DeviceSet::default());
        for (dev, nic, netdev) in [
            (vec!["virtio-gpu-device"], vec![], vec![]),
            (vec!["virtio-net-device"], vec![], vec![]),
            (vec!["virtio-net-device,netdev=x"], vec![], vec![]),
            (vec![], vec!["tap"], vec![]),
            (vec![], vec!["user,hostfwd=bad"], vec![]),
            (vec![], vec!["user,model=e1000"], vec![]),
            (vec![], vec![], vec!["user,id=a"]),
            (vec![], vec![], vec!["user"]),
            (vec!["virtio-rng-device,foo=1"], vec![], vec![]),
        ] {
            let e = parse_devices(&[], &s(&dev), &s(&nic), &s(&netdev)).unwrap_err();
            assert_eq!(e.exit_code().code(), 50, "{dev:?} {nic:?} {netdev:?}: {e}");
        }
    }
}
