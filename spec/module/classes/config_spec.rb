# frozen_string_literal: true

require_relative '../spec_helper'

describe 'autoami::config' do
  # autoami::config is private: it is tested through the class, as users declare it.
  let(:pre_condition) { "class { 'autoami': #{params_for_autoami.map { |k, v| "#{k} => #{v}" }.join(', ')} }" }
  let(:params_for_autoami) { {} }
  let(:config_dir) { Puppet[:confdir] }
  let(:config_file) { "#{config_dir}/autoami.yaml" }
  let(:dbpass_file) { "#{config_dir}/autoami.dbpass" }
  let(:yaml) { autoami_yaml(config_dir) }

  shared_examples 'a config file the sidecar accepts' do
    it { is_expected.to compile.with_all_deps }

    it 'is owned by root, readable by the puppet group only' do
      is_expected.to contain_file(config_file).with(ensure: 'file', owner: 'root', group: 'puppet', mode: '0640')
    end

    it 'holds only keys runtime/config.ts accepts' do
      accepted = sidecar_config_keys
      yaml.each do |key, value|
        expect(accepted).to have_key(key)
        next if accepted[key].nil?

        expect(value).to be_a(Hash)
        expect(accepted[key]).to include(*value.keys)
      end
    end

    it 'never holds a password inline' do
      expect(yaml.fetch('database', {})).not_to have_key('password')
    end
  end

  context 'with defaults: the embedded store' do
    it_behaves_like 'a config file the sidecar accepts'

    it 'writes the defaults' do
      expect(yaml).to eq(
        'socket' => '/run/autoami/autoami.sock',
        'state_dir' => '/var/lib/autoami',
        'aws' => { 'region' => 'us-east-1' },
        'puppet' => {
          'server' => 'puppet.example.com',
          'port' => 8140,
          'hostcert' => Puppet[:hostcert],
          'hostprivkey' => Puppet[:hostprivkey],
          'localcacert' => Puppet[:localcacert],
          'classifier' => 'none',
        },
        'bake' => { 'report_timeout' => '45m', 'concurrency' => 16 },
      )
    end

    it 'has no metrics section (no metrics endpoint)' do
      expect(yaml).not_to have_key('metrics')
    end

    it 'has no database section' do
      expect(yaml).not_to have_key('database')
    end

    it 'removes any password file' do
      is_expected.to contain_file(dbpass_file).with_ensure('absent')
    end

    it 'says it is managed by Puppet' do
      is_expected.to contain_file(config_file).with_content(%r{\A# Managed by Puppet})
    end
  end

  context 'with MySQL over TCP' do
    let(:params_for_autoami) { { db_user: "'autoami'", db_password: "'s3cret'", db_host: "'db.example.com'", db_port: 3307 } }

    it_behaves_like 'a config file the sidecar accepts'

    it 'writes host, port, user, password_file and name' do
      expect(yaml['database']).to eq(
        'host' => 'db.example.com', 'port' => 3307, 'user' => 'autoami',
        'password_file' => dbpass_file, 'name' => 'autoami'
      )
    end
  end

  context 'with MySQL over a Unix socket' do
    let(:params_for_autoami) { { db_user: "'autoami'", db_password: "'s3cret'", db_socket: "'/run/mysqld/mysqld.sock'" } }

    it_behaves_like 'a config file the sidecar accepts'

    it 'writes socket_path instead of host and port' do
      expect(yaml['database']).to eq(
        'socket_path' => '/run/mysqld/mysqld.sock', 'user' => 'autoami',
        'password_file' => dbpass_file, 'name' => 'autoami'
      )
    end
  end

  context 'with a database user but no password' do
    let(:params_for_autoami) { { db_user: "'autoami'" } }

    it_behaves_like 'a config file the sidecar accepts'

    it { expect(yaml['database']).not_to have_key('password_file') }
    it { is_expected.to contain_file(dbpass_file).with_ensure('absent') }
  end

  {
    'a plain String' => "'p\\'\"\\\\;w0rd'",
    'a Sensitive' => "Sensitive('p\\'\"\\\\;w0rd')",
  }.each do |kind, puppet_value|
    context "with the password as #{kind}" do
      let(:password) { %(p'"\\;w0rd) }
      let(:params_for_autoami) { { db_user: "'autoami'", db_password: puppet_value, manage_db: true } }

      it_behaves_like 'a config file the sidecar accepts'

      it 'never writes the password into the 0640 config' do
        expect(file_content(config_file)).not_to include(password)
        expect(file_content(config_file)).not_to include('w0rd')
      end

      it 'writes it, with a newline, to a 0600 file of the sidecar user' do
        is_expected.to contain_file(dbpass_file).with(
          ensure: 'file', owner: 'autoami', group: 'autoami', mode: '0600', show_diff: false, backup: false,
        )
        expect(file_content(dbpass_file)).to eq("#{password}\n")
      end

      it 'keeps the file content Sensitive (redacted in logs, reports and PuppetDB)' do
        expect(catalogue.resource('File', dbpass_file).sensitive_parameters).to include(:content)
      end

      it 'names the file in autoami.yaml' do
        expect(yaml['database']['password_file']).to eq(dbpass_file)
      end
    end
  end

  context 'with every optional setting' do
    let(:params_for_autoami) do
      {
        config_dir: "'/etc/autoami'",
        socket: "'/run/aa/sidecar.sock'",
        state_dir: "'/srv/autoami'",
        db_user: "'aa'",
        db_password: "Sensitive('x')",
        db_name: "'aa_prod'",
        db_host: "'10.0.0.5'",
        db_port: 3310,
        db_pool_size: 20,
        aws_region: "'eu-west-1'",
        aws_profile: "'bakery'",
        aws_endpoint: "'http://127.0.0.1:4566'",
        aws_ssm_endpoint: "'https://vpce-0a1b2c3d.ssm.eu-west-1.vpce.amazonaws.com'",
        aws_autoscaling_endpoint: "'http://127.0.0.1:4567'",
        puppet_server: "'ca.example.com'",
        puppet_port: 8141,
        puppet_hostcert: "'/etc/ssl/host.pem'",
        puppet_hostprivkey: "'/etc/ssl/host.key'",
        puppet_localcacert: "'/etc/ssl/ca.pem'",
        puppet_classifier: "'none'",
        bake_report_timeout: "'30m'",
        bake_concurrency: 4,
        bake_ssh_port: 2222,
        bake_poll_interval: "'5s'",
        bake_lease: "'2m'",
        metrics_listen: "'127.0.0.1:9777'",
        puppet_group: "'pe-puppet'",
      }
    end
    let(:config_dir) { '/etc/autoami' }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_file('/etc/autoami/autoami.yaml').with_group('pe-puppet') }

    it 'writes every key runtime/config.ts accepts, the password as a file' do
      expect(yaml).to eq(
        'socket' => '/run/aa/sidecar.sock',
        'state_dir' => '/srv/autoami',
        'database' => {
          'host' => '10.0.0.5', 'port' => 3310, 'user' => 'aa',
          'password_file' => '/etc/autoami/autoami.dbpass', 'name' => 'aa_prod', 'pool_size' => 20
        },
        'aws' => {
          'region' => 'eu-west-1', 'profile' => 'bakery', 'endpoint' => 'http://127.0.0.1:4566',
          'endpoints' => { 'ssm' => 'https://vpce-0a1b2c3d.ssm.eu-west-1.vpce.amazonaws.com', 'autoscaling' => 'http://127.0.0.1:4567' }
        },
        'puppet' => {
          'server' => 'ca.example.com', 'port' => 8141, 'hostcert' => '/etc/ssl/host.pem',
          'hostprivkey' => '/etc/ssl/host.key', 'localcacert' => '/etc/ssl/ca.pem', 'classifier' => 'none'
        },
        'bake' => { 'report_timeout' => '30m', 'concurrency' => 4, 'ssh_port' => 2222, 'poll_interval' => '5s', 'lease' => '2m' },
        'metrics' => { 'listen' => '127.0.0.1:9777' },
      )
      written = yaml.to_h { |key, value| [key, value.is_a?(Hash) ? value.keys.sort : nil] }
      expected = sidecar_config_keys.to_h do |key, subkeys|
        # host and socket_path exclude each other; password_file stands for password.
        [key, subkeys&.reject { |k| %w[password socket_path].include?(k) }&.sort]
      end
      expect(written).to eq(expected)
    end
  end

  context 'with puppet_ca_signing off' do
    let(:params_for_autoami) { { puppet_ca_signing: false } }

    it_behaves_like 'a config file the sidecar accepts'

    it 'leaves puppet.server out, so the sidecar leaves signing to policy autosigning' do
      expect(yaml['puppet']).not_to have_key('server')
      expect(yaml['puppet']).to include('localcacert' => Puppet[:localcacert], 'classifier' => 'none')
    end
  end

  context 'with the PE classifier' do
    let(:params_for_autoami) { { puppet_classifier: "'pe'" } }

    it_behaves_like 'a config file the sidecar accepts'

    it { expect(yaml['puppet']['classifier']).to eq('pe') }
  end

  {
    '127.0.0.1:9777' => '127.0.0.1:9777',
    'an IPv6 address' => '[::1]:9777',
  }.each do |what, listen|
    context "with metrics on #{what}" do
      let(:params_for_autoami) { { metrics_listen: "'#{listen}'" } }

      it_behaves_like 'a config file the sidecar accepts'

      it 'writes metrics.listen, quoted' do
        expect(yaml['metrics']).to eq('listen' => listen)
        expect(file_content(config_file)).to include("metrics:\n  listen: '#{listen}'\n")
      end
    end
  end

  context 'with strings YAML would misread' do
    let(:params_for_autoami) { { aws_profile: %q('it\\'s: #yes'), db_user: "'null'" } }

    it_behaves_like 'a config file the sidecar accepts'

    it 'quotes them' do
      expect(yaml['aws']['profile']).to eq("it's: #yes")
      expect(yaml['database']['user']).to eq('null')
    end
  end
end
