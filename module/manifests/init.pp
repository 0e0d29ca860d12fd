# @summary
#   Sets up AutoAMI on a Puppet master: the sidecar, its configuration and,
#   optionally, its MySQL database.
#
# Writes `<config_dir>/autoami.yaml` (read by the sidecar and by the `puppet autoami`
# and `puppet node_aws` faces and the `autoami` report processor), installs the
# Node.js sidecar shipped in this module and runs it under systemd as a dedicated
# user that is also in the Puppet group, so the master's processes can reach its
# socket and spool reports into `<state_dir>/spool`. It installs the `autoami` command
# (`command_path`), adds the `autoami` report processor to `reports` in puppet.conf's
# `[server]` section and, with `autosign`, makes the sidecar Puppet Server's policy
# autosigner (`autosign = <install_dir>/bin/autoami-autosign`). Puppet Server reads
# both settings only when it starts: restart it after the first run (or name its
# service in `puppetserver_service`).
#
# Without `db_user` the sidecar keeps its data in the embedded single-master store
# in `state_dir`. With `db_user` it uses MySQL (shared by several masters); with
# `manage_db` as well, puppetlabs-mysql creates the database, the user and the grant
# on this node's MySQL server. The sidecar migrates the schema itself at start-up.
#
# @example Embedded store, everything else default
#   include autoami
#
# @example MySQL on this master, managed by puppetlabs-mysql
#   class { 'mysql::server':
#     root_password => 'pw',
#   }
#   -> class { 'autoami':
#     manage_db   => true,
#     db_user     => 'autoami',
#     db_password => Sensitive('autoamipassword'),
#     db_name     => 'autoami',
#   }
#
# @example A MySQL server shared by several masters
#   class { 'autoami':
#     db_host     => 'db.example.com',
#     db_user     => 'autoami',
#     db_password => Sensitive(lookup('secrets::autoami_db_password')),
#     aws_region  => 'eu-west-1',
#   }
#
# @example Policy autosigning by the sidecar, Puppet Server restarted on a puppet.conf change
#   service { 'puppetserver':
#     ensure => running,
#   }
#   class { 'autoami':
#     puppet_ca_signing    => false,
#     autosign             => true,
#     puppetserver_service => 'puppetserver',
#   }
#
# @param puppet_group
#   The group the master's Puppet processes run as. It owns autoami.yaml (0640), the
#   socket, its directory and the spool, and the sidecar runs with it (`Group=`).
#   Module data: `puppet`.
# @param user_shell
#   Login shell of `user`. Module data: `/usr/sbin/nologin`, `/sbin/nologin` on the
#   Red Hat family.
# @param nodejs_package
#   The Node.js package name. Module data: `nodejs`.
# @param node_binary
#   The `node` executable the unit starts the sidecar with. Module data: `/usr/bin/node`.
# @param db_user
#   The MySQL user the sidecar logs in as. Setting it selects the MySQL store and
#   writes the `database` section of autoami.yaml; leave it unset for the embedded
#   store. Required with `manage_db`.
# @param db_password
#   The MySQL user's password, plain or `Sensitive`. It is written only to
#   `<config_dir>/autoami.dbpass` (mode 0600, owned by `user`), which autoami.yaml names
#   as `database.password_file`; never to autoami.yaml itself. Required with `manage_db`.
# @param db_name
#   The database name (letters, digits, `_` and `$`, at most 64).
# @param db_host
#   The MySQL host the sidecar connects to over TCP. Ignored in favour of `db_socket`
#   when that is set.
# @param db_port
#   The MySQL TCP port.
# @param db_socket
#   Connect over this Unix socket (for example `/run/mysqld/mysqld.sock`) instead of
#   `db_host` and `db_port`.
# @param db_pool_size
#   Connections the sidecar keeps open at most (`database.pool_size`); unset: the
#   sidecar's default (10).
# @param manage_db
#   Create the database, the user and its grant (`ALL` on the database) with
#   puppetlabs-mysql's `mysql::db` on this node's MySQL server. Nothing is ever dropped.
# @param db_grant_host
#   The host part of the MySQL account (`user@host`) that `manage_db` creates. Defaults
#   to `localhost` with `db_socket`, else to `db_host`.
# @param db_charset
#   Character set of the database `manage_db` creates.
# @param db_collate
#   Collation of the database `manage_db` creates.
# @param config_dir
#   Directory of autoami.yaml and autoami.dbpass. Defaults to the compiling Puppet's
#   confdir, where the faces and the report processor look for autoami.yaml.
# @param socket
#   The sidecar's Unix socket (0660, group `puppet_group`). Under `/run` its directory
#   is the unit's `RuntimeDirectory`; elsewhere Puppet manages the directory.
# @param state_dir
#   The sidecar's state: the embedded store, `known_hosts` and `spool/` (group
#   `puppet_group`, 0770) where the report processor spools reports while the sidecar
#   is unreachable.
# @param aws_region
#   Default AWS region (`aws.region`).
# @param aws_profile
#   Shared-config profile (`aws.profile`) in the sidecar's `~/.aws/config` and
#   `~/.aws/credentials`; its home is `state_dir`. Unset: the standard credential chain
#   (environment, `<state_dir>/.aws/credentials`, instance role).
# @param aws_endpoint
#   An EC2-compatible endpoint URL (`aws.endpoint`); unset: AWS itself.
# @param aws_ssm_endpoint
#   The SSM endpoint URL groups publish parameters through (`aws.endpoints.ssm`), e.g. a
#   VPC endpoint; unset: AWS itself.
# @param aws_autoscaling_endpoint
#   The Auto Scaling endpoint URL instance refreshes go through
#   (`aws.endpoints.autoscaling`); unset: AWS itself.
# @param puppet_server
#   The Puppet CA host whose API signs bake instances' certificates (`puppet.server`).
#   Defaults to this node's FQDN: the master is its own CA.
# @param puppet_port
#   The Puppet Server port (`puppet.port`).
# @param puppet_hostcert
#   The master's certificate the sidecar presents to the CA API (`puppet.hostcert`).
# @param puppet_hostprivkey
#   Its private key (`puppet.hostprivkey`); readable by `puppet_group`.
# @param puppet_localcacert
#   The CA certificate (`puppet.localcacert`).
# @param puppet_ca_signing
#   Whether the sidecar signs the certificates of bake instances through the CA API
#   (and only those it is waiting for). Off, `puppet.server` is left out of autoami.yaml
#   and signing is left to policy-based autosigning (see `autosign`).
# @param puppet_classifier
#   `none` leaves classification to the `pp_role` trusted fact in the bake node's
#   certificate; `pe` (Puppet Enterprise) pins bake nodes into their node group through
#   the PE classifier.
# @param bake_report_timeout
#   How long a bake waits for the agent's report (`bake.report_timeout`: `45m`, `90s`,
#   `1h`, `500ms`).
# @param bake_concurrency
#   Groups baked at once by this sidecar (`bake.concurrency`).
# @param bake_ssh_port
#   SSH port of bake instances (`bake.ssh_port`); unset: 22.
# @param bake_poll_interval
#   How often pending EC2 work is polled (`bake.poll_interval`, a duration); unset: 2s.
# @param bake_lease
#   How long a sidecar holds a bake before another master may take it over
#   (`bake.lease`, a duration); unset: 60s.
# @param metrics_listen
#   Serve Prometheus metrics on this `IP:PORT` (`metrics.listen`), for example
#   `127.0.0.1:9777`; unset: no metrics endpoint. It has no authentication: keep it on
#   loopback or behind a firewall.
# @param user
#   The system user the sidecar runs as; it owns `state_dir` and autoami.dbpass.
# @param group
#   The primary group of `user`.
# @param manage_user
#   Create `user` and `group` (system accounts, `user` also in `puppet_group`).
# @param install_dir
#   Where the sidecar's built JavaScript is installed (replaced wholesale from the
#   module's `files/sidecar`: a few bundled files, the entry points 0755), with
#   `<install_dir>/bin/autoami-autosign`, the policy-autosign command.
# @param manage_install
#   Install the sidecar into `install_dir`. Turn off when it is installed another way
#   (then `autosign` is not available).
# @param manage_command
#   Install the `autoami` command at `command_path`.
# @param command_path
#   Where `manage_command` installs the `autoami` command (`autoami migrate`, `autoami
#   version`, `autoami serve`): a /bin/sh wrapper (root, 0755) that runs the sidecar's CLI
#   with `node_binary` and `AUTOAMI_CONFIG` set to this class's autoami.yaml unless it is
#   set already.
# @param manage_puppet_conf
#   Add `autoami` to `reports` in the `[server]` section of `puppet_conf`, keeping the
#   processors listed there (puppetlabs-inifile's `ini_subsetting`). Where `[server]` has
#   no `reports` line yet, it becomes `reports = autoami`, which hides Puppet's default
#   (`store`) and any list in `[master]` or `[main]`: put the list you want in `[server]`
#   first. Puppet Server reads it only at start.
# @param puppet_conf
#   The puppet.conf to edit. Defaults to the compiling Puppet's (`$settings::config`).
# @param autosign
#   Set `autosign = <install_dir>/bin/autoami-autosign` in `[server]` of `puppet_conf`:
#   Puppet Server then signs a CSR only when the sidecar says a bake is waiting for that
#   certname, the CSR's `pp_instance_id` is that bake's instance and its
#   `challengePassword` is the bake's one-time secret. Needs
#   `manage_puppet_conf` and `manage_install`. Off, the class leaves `autosign` alone.
# @param puppetserver_service
#   The title of a `service` resource for Puppet Server declared elsewhere in the
#   catalogue (for example `puppetserver`), which the class notifies when it changes
#   puppet.conf. Unset: restart Puppet Server yourself after a change.
# @param manage_nodejs
#   Install the Node.js package. The package manager must offer Node.js 20 or newer
#   under `nodejs_package` (for example from NodeSource); turn off when Node.js is
#   installed another way.
# @param nodejs_ensure
#   `ensure` of the Node.js package.
# @param manage_service
#   Manage the systemd unit and the `autoami` service. Off: no unit, no service (for
#   example where another supervisor runs `autoami serve`).
# @param service_ensure
#   Whether the `autoami` service is running.
# @param service_enable
#   Whether the `autoami` service starts at boot.
# @param protect_home
#   The unit's `ProtectHome=`: `read-only` (default) lets the sidecar read SSH key
#   files of groups that live under /home or /root; `yes` hides them.
#
class autoami (
  String[1] $puppet_group,
  Stdlib::Absolutepath $user_shell,
  String[1] $nodejs_package,
  Stdlib::Absolutepath $node_binary,
  Optional[String[1]] $db_user = undef,
  Optional[Variant[String, Sensitive[String]]] $db_password = undef,
  Pattern[/\A[A-Za-z0-9_$]{1,64}\z/] $db_name = 'autoami',
  Stdlib::Host $db_host = 'localhost',
  Stdlib::Port $db_port = 3306,
  Optional[Stdlib::Absolutepath] $db_socket = undef,
  Optional[Integer[1, 200]] $db_pool_size = undef,
  Boolean $manage_db = false,
  Optional[String[1]] $db_grant_host = undef,
  String[1] $db_charset = 'utf8mb4',
  String[1] $db_collate = 'utf8mb4_unicode_ci',
  Stdlib::Absolutepath $config_dir = $settings::confdir,
  Stdlib::Absolutepath $socket = '/run/autoami/autoami.sock',
  Stdlib::Absolutepath $state_dir = '/var/lib/autoami',
  Autoami::Region $aws_region = 'us-east-1',
  Optional[String[1]] $aws_profile = undef,
  Optional[Stdlib::HTTPUrl] $aws_endpoint = undef,
  Optional[Stdlib::HTTPUrl] $aws_ssm_endpoint = undef,
  Optional[Stdlib::HTTPUrl] $aws_autoscaling_endpoint = undef,
  Stdlib::Host $puppet_server = $facts['networking']['fqdn'],
  Stdlib::Port $puppet_port = 8140,
  Stdlib::Absolutepath $puppet_hostcert = $settings::hostcert,
  Stdlib::Absolutepath $puppet_hostprivkey = $settings::hostprivkey,
  Stdlib::Absolutepath $puppet_localcacert = $settings::localcacert,
  Boolean $puppet_ca_signing = true,
  Enum['pe', 'none'] $puppet_classifier = 'none',
  Autoami::Duration $bake_report_timeout = '45m',
  Integer[1, 1024] $bake_concurrency = 16,
  Optional[Stdlib::Port] $bake_ssh_port = undef,
  Optional[Autoami::Duration] $bake_poll_interval = undef,
  Optional[Autoami::Duration] $bake_lease = undef,
  Optional[Autoami::Listen] $metrics_listen = undef,
  String[1] $user = 'autoami',
  String[1] $group = 'autoami',
  Boolean $manage_user = true,
  Stdlib::Absolutepath $install_dir = '/opt/autoami',
  Boolean $manage_install = true,
  Boolean $manage_command = true,
  Stdlib::Absolutepath $command_path = '/usr/local/bin/autoami',
  Boolean $manage_puppet_conf = true,
  Stdlib::Absolutepath $puppet_conf = $settings::config,
  Boolean $autosign = false,
  Optional[String[1]] $puppetserver_service = undef,
  Boolean $manage_nodejs = true,
  String[1] $nodejs_ensure = 'installed',
  Boolean $manage_service = true,
  Enum['running', 'stopped'] $service_ensure = 'running',
  Boolean $service_enable = true,
  Enum['yes', 'no', 'read-only', 'tmpfs'] $protect_home = 'read-only',
) {
  if $manage_db and ($db_user =~ Undef or $db_password =~ Undef) {
    fail('autoami: manage_db needs db_user and db_password')
  }
  if $db_user =~ Undef and ($db_password =~ NotUndef or $db_socket =~ NotUndef or $db_pool_size =~ NotUndef) {
    fail('autoami: db_password, db_socket and db_pool_size need db_user (without db_user the sidecar uses its embedded store)')
  }
  if $autosign and !($manage_puppet_conf and $manage_install) {
    fail('autoami: autosign needs manage_puppet_conf (to set it in puppet.conf) and manage_install (for the autosign command)')
  }

  # Paths every class shares.
  $config_file = "${config_dir}/autoami.yaml"
  $db_password_file = "${config_dir}/autoami.dbpass"
  $socket_dir = $socket.regsubst('/[^/]+\z', '')
  $spool_dir = "${state_dir}/spool"
  $autosign_command = "${install_dir}/bin/autoami-autosign"

  contain autoami::user
  contain autoami::db
  contain autoami::config
  contain autoami::install
  contain autoami::service
  contain autoami::puppet_conf

  # Ordering only: the service restarts on a change of exactly the files it subscribes to
  # (autoami::service), so a new configuration never refreshes the Node.js package or
  # reloads systemd.
  Class['autoami::user']
  -> Class['autoami::config']
  -> Class['autoami::service']

  Class['autoami::install'] -> Class['autoami::service']
  Class['autoami::db'] -> Class['autoami::service']

  # puppet.conf names the autosign command and the report processor reads autoami.yaml:
  # both exist before Puppet Server is pointed at them.
  Class['autoami::config'] -> Class['autoami::puppet_conf']
  Class['autoami::install'] -> Class['autoami::puppet_conf']
}
