# frozen_string_literal: true

require_relative '../spec_helper'

describe 'autoami' do
  context 'with defaults (embedded store)' do
    it { is_expected.to compile.with_all_deps }

    %w[autoami::user autoami::db autoami::config autoami::install autoami::service autoami::puppet_conf].each do |klass|
      it { is_expected.to contain_class(klass) }
    end

    it 'creates the user before writing the configuration' do
      is_expected.to contain_class('autoami::user').that_comes_before('Class[autoami::config]')
    end

    it 'writes the configuration before the service, without refreshing the whole service class' do
      is_expected.to contain_class('autoami::config').that_comes_before('Class[autoami::service]')
      is_expected.not_to contain_class('autoami::config').that_notifies('Class[autoami::service]')
    end

    it 'installs the code before the service starts and before puppet.conf names it' do
      is_expected.to contain_class('autoami::install').that_comes_before('Class[autoami::service]')
      is_expected.to contain_class('autoami::install').that_comes_before('Class[autoami::puppet_conf]')
      is_expected.to contain_class('autoami::config').that_comes_before('Class[autoami::puppet_conf]')
    end

    it 'has the database before the service starts' do
      is_expected.to contain_class('autoami::db').that_comes_before('Class[autoami::service]')
    end

    it { is_expected.not_to contain_mysql__db('autoami') }
  end

  context 'with the seed set-up on puppetlabs-mysql (root_password, no config_hash)' do
    let(:pre_condition) do
      <<~PUPPET
        class { 'mysql::server': root_password => 'pw' }
        -> class { 'autoami':
          manage_db   => true,
          db_user     => 'autoami',
          db_password => 'autoamipassword',
          db_name     => 'autoami',
        }
      PUPPET
    end

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_class('mysql::server').with_root_password('pw') }
    it { is_expected.to contain_class('mysql::server').that_comes_before('Class[autoami]') }
    it { is_expected.to contain_mysql__db('autoami').with_user('autoami').with_host('localhost') }
    it { is_expected.to contain_mysql_database('autoami') }
    it { is_expected.to contain_mysql_user('autoami@localhost') }
    it { is_expected.to contain_mysql_grant('autoami@localhost/autoami.*').with_privileges(['ALL']) }
  end

  describe 'manage_db without credentials' do
    context 'without db_user' do
      let(:params) { { manage_db: true, db_password: 'x' } }

      it { is_expected.to compile.and_raise_error(%r{manage_db needs db_user and db_password}) }
    end

    context 'without db_password' do
      let(:params) { { manage_db: true, db_user: 'autoami' } }

      it { is_expected.to compile.and_raise_error(%r{manage_db needs db_user and db_password}) }
    end
  end

  describe 'database settings without db_user' do
    { db_password: 'x', db_socket: '/run/mysqld/mysqld.sock', db_pool_size: 5 }.each do |param, value|
      context "with #{param} alone" do
        let(:params) { { param => value } }

        it { is_expected.to compile.and_raise_error(%r{need db_user \(without db_user the sidecar uses its embedded store\)}) }
      end
    end

    context 'with db_password as Sensitive alone' do
      let(:params) { { db_password: sensitive('x') } }

      it { is_expected.to compile.and_raise_error(%r{need db_user}) }
    end
  end

  describe 'parameter types' do
    {
      db_name: 'no-dashes',
      db_port: 70_000,
      db_host: 'not a host',
      db_socket: 'relative.sock',
      db_pool_size: 0,
      db_password: 42,
      config_dir: 'etc',
      socket: 'autoami.sock',
      state_dir: 'var/lib/autoami',
      aws_region: 'mars',
      aws_endpoint: 'ftp://127.0.0.1',
      puppet_server: 'not a host',
      puppet_classifier: 'foreman',
      bake_report_timeout: 'soon',
      bake_concurrency: 0,
      bake_poll_interval: '2 seconds',
      bake_lease: '1w',
      metrics_listen: 'localhost:9777',
      command_path: 'usr/local/bin/autoami',
      manage_puppet_conf: 'yes',
      manage_command: 'no',
      puppet_conf: 'puppet.conf',
      autosign: 'true',
      puppetserver_service: '',
      service_ensure: 'restarted',
      service_enable: 'yes',
      manage_service: 'true',
      manage_db: 'false',
      protect_home: 'true',
      node_binary: 'node',
    }.each do |param, value|
      context "rejects #{param} => #{value.inspect}" do
        let(:params) { { param => value } }

        it { is_expected.to compile.and_raise_error(%r{#{param}}) }
      end
    end
  end

  describe 'the data types in module/types' do
    {
      aws_region: { good: %w[us-east-1 eu-west-1 us-gov-west-1 ap-southeast-2], bad: %w[mars us-east US-EAST-1 us-east-1a] },
      bake_report_timeout: { good: %w[500ms 90s 45m 1.5h 1d], bad: ['1w', '45', 'm', '1.5.5h', ' 45m'] },
      bake_lease: { good: %w[60s 2m], bad: %w[1w forever] },
      metrics_listen: {
        good: ['127.0.0.1:9777', '0.0.0.0:1', '[::1]:9777', '10.1.2.3:65535'],
        bad: ['localhost:9777', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', '256.0.0.1:9777', '::1:9777', ':9777'],
      },
    }.each do |param, values|
      values[:good].each do |value|
        context "accepts #{param} => #{value.inspect}" do
          let(:params) { { param => value } }

          it { is_expected.to compile.with_all_deps }
        end
      end
      values[:bad].each do |value|
        context "rejects #{param} => #{value.inspect}" do
          let(:params) { { param => value } }

          it { is_expected.to compile.and_raise_error(%r{#{param}}) }
        end
      end
    end
  end

  describe 'autosign without what it needs' do
    { manage_puppet_conf: false, manage_install: false }.each do |param, value|
      context "with #{param} => #{value}" do
        let(:params) { { autosign: true, param => value } }

        it { is_expected.to compile.and_raise_error(%r{autosign needs manage_puppet_conf .* and manage_install}) }
      end
    end
  end

  describe 'operating system defaults from module data' do
    # Both releases' facts, whichever Debian the specs run on (the defaults are its own).
    DEBIAN_FACTS.each do |major, debian_facts|
      context "on Debian #{major}" do
        let(:facts) { debian_facts }

        it { is_expected.to compile.with_all_deps }
        it { is_expected.to contain_user('autoami').with_shell('/usr/sbin/nologin') }
        it { is_expected.to contain_package('nodejs') }
        it { is_expected.to contain_file('/etc/systemd/system/autoami.service').with_content(%r{^ExecStart=/usr/bin/node }) }
        it { is_expected.to contain_file("#{Puppet[:confdir]}/autoami.yaml").with_group('puppet') }
      end
    end

    context 'on Red Hat 9' do
      let(:facts) do
        {
          'os' => {
            'name' => 'RedHat', 'family' => 'RedHat',
            'release' => { 'full' => '9.4', 'major' => '9', 'minor' => '4' },
            'architecture' => 'x86_64', 'hardware' => 'x86_64', 'selinux' => { 'enabled' => true }
          },
          'osfamily' => 'RedHat', 'operatingsystem' => 'RedHat',
          'operatingsystemrelease' => '9.4', 'operatingsystemmajrelease' => '9'
        }
      end

      it { is_expected.to compile.with_all_deps }
      it { is_expected.to contain_user('autoami').with_shell('/sbin/nologin') }
    end
  end
end
