# @summary
#   A duration as autoami.yaml takes it: a number and a unit, `ms`, `s`, `m` or `h`
#   (`500ms`, `90s`, `45m`, `1.5h`).
type Autoami::Duration = Pattern[/\A\d+(\.\d+)?(ms|s|m|h)\z/]
