# @summary
#   Writes autoami.yaml and, when there is a database password, autoami.dbpass.
#
# `<config_dir>/autoami.yaml` (root, group `autoami::puppet_group`, 0640) holds every
# setting the sidecar and the faces read. The database password never goes into it:
# it is written, as `Sensitive` content, to `<config_dir>/autoami.dbpass` (owned by the
# sidecar's user, 0600), which autoami.yaml names as `database.password_file`. Without a
# password the secrets file is removed.
#
# @api private
#
class autoami::config {
  $database = $autoami::db_user ? {
    undef   => undef,
    default => {
      'host'          => $autoami::db_socket ? { undef => $autoami::db_host, default => undef },
      'port'          => $autoami::db_socket ? { undef => $autoami::db_port, default => undef },
      'socket_path'   => $autoami::db_socket,
      'user'          => $autoami::db_user,
      'password_file' => $autoami::db_password ? { undef => undef, default => $autoami::db_password_file },
      'name'          => $autoami::db_name,
      'pool_size'     => $autoami::db_pool_size,
    },
  }

  # Without puppet.server the sidecar leaves signing to policy-based autosigning.
  $puppet_server = $autoami::puppet_ca_signing ? {
    true    => $autoami::puppet_server,
    default => undef,
  }

  # Only the services given; none given leaves the section out, and each service goes to AWS itself.
  $given_endpoints = {
    'ssm'         => $autoami::aws_ssm_endpoint,
    'autoscaling' => $autoami::aws_autoscaling_endpoint,
  }.filter |$service, $url| { $url =~ NotUndef }
  $endpoints = $given_endpoints.empty ? {
    true    => undef,
    default => $given_endpoints,
  }

  # Absent: no metrics endpoint.
  $metrics = $autoami::metrics_listen ? {
    undef   => undef,
    default => { 'listen' => $autoami::metrics_listen },
  }

  file { $autoami::config_file:
    ensure    => file,
    owner     => 'root',
    group     => $autoami::puppet_group,
    mode      => '0640',
    show_diff => true,
    content   => epp('autoami/autoami.yaml.epp', {
        'socket'    => $autoami::socket,
        'state_dir' => $autoami::state_dir,
        'database'  => $database,
        'aws'       => {
          'region'    => $autoami::aws_region,
          'profile'   => $autoami::aws_profile,
          'endpoint'  => $autoami::aws_endpoint,
          'endpoints' => $endpoints,
        },
        'puppet'    => {
          'server'      => $puppet_server,
          'port'        => $autoami::puppet_port,
          'hostcert'    => $autoami::puppet_hostcert,
          'hostprivkey' => $autoami::puppet_hostprivkey,
          'localcacert' => $autoami::puppet_localcacert,
          'classifier'  => $autoami::puppet_classifier,
        },
        'bake'      => {
          'report_timeout' => $autoami::bake_report_timeout,
          'concurrency'    => $autoami::bake_concurrency,
          'ssh_port'       => $autoami::bake_ssh_port,
          'poll_interval'  => $autoami::bake_poll_interval,
          'lease'          => $autoami::bake_lease,
        },
        'metrics'   => $metrics,
    }),
  }

  if $autoami::db_user =~ NotUndef and $autoami::db_password =~ NotUndef {
    $secret = $autoami::db_password ? {
      Sensitive => $autoami::db_password,
      default   => Sensitive($autoami::db_password),
    }

    file { $autoami::db_password_file:
      ensure    => file,
      owner     => $autoami::user,
      group     => $autoami::group,
      mode      => '0600',
      show_diff => false,
      backup    => false,
      content   => Sensitive("${secret.unwrap}\n"),
    }
  } else {
    file { $autoami::db_password_file:
      ensure => absent,
      backup => false,
    }
  }
}
