# @summary
#   An address to serve on, `IP:PORT` as the sidecar's `metrics.listen` takes it: an IPv4
#   address or an IPv6 one in brackets (not a name, which could resolve to another
#   address), and a port from 1 to 65535: `127.0.0.1:9777`, `[::1]:9777`.
type Autoami::Listen = Pattern[/\A((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[[0-9A-Fa-f:.]+\]):([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])\z/]
