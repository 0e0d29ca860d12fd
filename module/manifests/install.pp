# @summary
#   Installs the sidecar's bundled JavaScript and the commands that run it.
#
# * With `autoami::manage_install`, `autoami::install_dir` from the module's
#   `files/sidecar` (owned by root, so the sidecar cannot change its own code; purged of
#   anything else): the two bundles `runtime/cli.js` and `runtime/autosign.js`, the chunks they load, their
#   launchers, a template and package.json. The launchers `runtime/bin/autoami.js` and
#   `runtime/bin/autoami-autosign.js` are resources of their own, 0755, so the recursive
#   copy (0644) never resets them. And `<install_dir>/bin/autoami-autosign` (0755), the
#   command puppet.conf's `autosign` names: a /bin/sh wrapper that runs the autosign
#   launcher with `autoami::node_binary` and `AUTOAMI_CONFIG` set to the class's
#   autoami.yaml, since Puppet Server's environment names none.
# * With `autoami::manage_command`, the `autoami` command at `autoami::command_path`
#   (root, 0755): a /bin/sh wrapper that runs the sidecar's CLI with
#   `autoami::node_binary` and `AUTOAMI_CONFIG` set to the class's autoami.yaml unless it
#   is set already.
#
# @api private
#
class autoami::install {
  $source = 'puppet:///modules/autoami/sidecar'
  $config_file = $autoami::config_file
  $node_binary = $autoami::node_binary

  if $autoami::manage_install {
    file { $autoami::install_dir:
      ensure  => directory,
      source  => $source,
      recurse => true,
      purge   => true,
      force   => true,
      backup  => false,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
    }

    # Declared on their own, so the recursive copy above neither manages nor purges them.
    ['autoami.js', 'autoami-autosign.js'].each |$launcher| {
      file { "${autoami::install_dir}/runtime/bin/${launcher}":
        ensure => file,
        source => "${source}/runtime/bin/${launcher}",
        backup => false,
        owner  => 'root',
        group  => 'root',
        mode   => '0755',
      }
    }

    file { "${autoami::install_dir}/bin":
      ensure => directory,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }

    file { $autoami::autosign_command:
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      content => epp('autoami/autoami-autosign.sh.epp', {
          'node_binary' => $node_binary,
          'launcher'    => "${autoami::install_dir}/runtime/bin/autoami-autosign.js",
          'config_file' => $config_file,
      }),
    }
  }

  if $autoami::manage_command {
    file { $autoami::command_path:
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      content => epp('autoami/autoami.sh.epp', {
          'node_binary' => $node_binary,
          'launcher'    => "${autoami::install_dir}/runtime/bin/autoami.js",
          'config_file' => $config_file,
      }),
    }
  }
}
