# @summary
#   Points Puppet Server at AutoAMI in puppet.conf: the report processor and, optionally,
#   the policy-autosign command.
#
# With `autoami::manage_puppet_conf`, in the `[server]` section of `autoami::puppet_conf`:
#
# * `autoami` joins the `reports` list (puppetlabs-inifile's `ini_subsetting`, comma
#   separated, exact match): the processors already listed there stay. Without a
#   `reports` line in `[server]` the line becomes `reports = autoami`.
# * With `autoami::autosign`, `autosign = <install_dir>/bin/autoami-autosign`. Without it
#   the class leaves `autosign` as it is.
#
# Puppet Server reads both only when it starts. With `autoami::puppetserver_service`, a
# change notifies that service (declared elsewhere in the catalogue); otherwise restart
# Puppet Server after the first run.
#
# @api private
#
class autoami::puppet_conf {
  if $autoami::manage_puppet_conf {
    $notify = $autoami::puppetserver_service ? {
      undef   => [],
      default => [Service[$autoami::puppetserver_service]],
    }

    ini_subsetting { 'autoami puppet.conf reports':
      ensure               => present,
      path                 => $autoami::puppet_conf,
      section              => 'server',
      setting              => 'reports',
      subsetting           => 'autoami',
      subsetting_separator => ',',
      use_exact_match      => true,
      notify               => $notify,
    }

    if $autoami::autosign {
      ini_setting { 'autoami puppet.conf autosign':
        ensure  => present,
        path    => $autoami::puppet_conf,
        section => 'server',
        setting => 'autosign',
        value   => $autoami::autosign_command,
        notify  => $notify,
      }
    }
  }
}
