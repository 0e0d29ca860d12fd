# @summary
#   The system account the AutoAMI sidecar runs as.
#
# Creates `autoami::group` and `autoami::user` (a system user without a login shell,
# home `autoami::state_dir`) and puts the user into `autoami::puppet_group`, so the
# sidecar can read the master's private key and share its socket and spool with Puppet.
# Does nothing unless `autoami::manage_user` is true.
#
# @api private
#
class autoami::user {
  if $autoami::manage_user {
    group { $autoami::group:
      ensure => present,
      system => true,
    }

    user { $autoami::user:
      ensure     => present,
      system     => true,
      gid        => $autoami::group,
      groups     => [$autoami::puppet_group],
      membership => minimum,
      home       => $autoami::state_dir,
      managehome => false,
      shell      => $autoami::user_shell,
      comment    => 'AutoAMI sidecar',
      require    => Group[$autoami::group],
    }
  }
}
