# @summary
#   Runs the sidecar as the `autoami` systemd service, with its directories.
#
# * `autoami::state_dir` (owner `autoami::user`, group `autoami::puppet_group`, 0750)
#   and its `spool/` (0770), where the report processor spools reports while the
#   sidecar is unreachable; always managed.
# * The socket's directory: the unit's `RuntimeDirectory=` (0750, group
#   `autoami::puppet_group`) when the socket lives under /run and the service is
#   managed, otherwise a directory Puppet manages with the same owner and mode.
# * With `autoami::manage_nodejs`, the Node.js package (the service requires it; an
#   upgrade does not restart it).
# * With `autoami::manage_service`, a hardened unit in /etc/systemd/system, a
#   `systemctl daemon-reload` when (and only when) the unit changes, and
#   `service { 'autoami': }`, restarted when the configuration, the password file, the
#   unit or the code `autoami::install` installs change, and for nothing else.
#
# @api private
#
class autoami::service {
  $systemd_runtime_dir = $autoami::manage_service and $autoami::socket_dir =~ /\A\/(var\/)?run\/[^\/]/
  $runtime_directory = $systemd_runtime_dir ? {
    true    => $autoami::socket_dir.regsubst('\A/(var/)?run/', ''),
    default => undef,
  }

  file { $autoami::state_dir:
    ensure => directory,
    owner  => $autoami::user,
    group  => $autoami::puppet_group,
    mode   => '0750',
  }

  file { $autoami::spool_dir:
    ensure => directory,
    owner  => $autoami::user,
    group  => $autoami::puppet_group,
    mode   => '0770',
  }

  # The socket's directory is systemd's RuntimeDirectory, or else one Puppet manages
  # (unless it is one of the two above).
  $manage_socket_dir = !$systemd_runtime_dir and !($autoami::socket_dir in [$autoami::state_dir, $autoami::spool_dir])
  $directories = $manage_socket_dir ? {
    true    => [$autoami::state_dir, $autoami::spool_dir, $autoami::socket_dir],
    default => [$autoami::state_dir, $autoami::spool_dir],
  }

  if $manage_socket_dir {
    file { $autoami::socket_dir:
      ensure => directory,
      owner  => $autoami::user,
      group  => $autoami::puppet_group,
      mode   => '0750',
    }
  }

  if $autoami::manage_nodejs {
    package { $autoami::nodejs_package:
      ensure => $autoami::nodejs_ensure,
    }
  }

  if $autoami::manage_service {
    $unit_file = '/etc/systemd/system/autoami.service'
    $read_write_paths = $systemd_runtime_dir ? {
      true    => [$autoami::state_dir],
      default => [$autoami::state_dir, $autoami::socket_dir],
    }

    file { $unit_file:
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => epp('autoami/autoami.service.epp', {
          'node_binary'       => $autoami::node_binary,
          'install_dir'       => $autoami::install_dir,
          'config_file'       => $autoami::config_file,
          'state_dir'         => $autoami::state_dir,
          'runtime_directory' => $runtime_directory,
          'read_write_paths'  => $read_write_paths,
          'user'              => $autoami::user,
          'group'             => $autoami::puppet_group,
          'protect_home'      => $autoami::protect_home,
      }),
    }

    exec { 'autoami-systemd-daemon-reload':
      command     => 'systemctl daemon-reload',
      path        => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'],
      refreshonly => true,
      subscribe   => File[$unit_file],
    }

    # The tree, and the launcher the unit starts (a resource of its own, outside the tree's events).
    $code = $autoami::manage_install ? {
      true    => [File[$autoami::install_dir], File["${autoami::install_dir}/runtime/bin/autoami.js"]],
      default => [],
    }
    $nodejs = $autoami::manage_nodejs ? {
      true    => [Package[$autoami::nodejs_package]],
      default => [],
    }

    service { 'autoami':
      ensure    => $autoami::service_ensure,
      enable    => $autoami::service_enable,
      require   => [Exec['autoami-systemd-daemon-reload']] + $directories.map |$dir| { File[$dir] } + $nodejs,
      subscribe => [
        File[$autoami::config_file],
        File[$autoami::db_password_file],
        File[$unit_file],
      ] + $code,
    }
  }
}
