# frozen_string_literal: true

require_relative '../spec_helper'

# The switches that shape the catalogue, in combination: the database settings (store:
# embedded, MySQL over TCP or over a socket; password: none, String or Sensitive;
# manage_db) in all 18 combinations, each with the service switches all on and all off;
# and the service switches (manage_service, manage_nodejs, manage_install, manage_user)
# in all 16 combinations, each with the embedded store and with a managed MySQL database
# and a Sensitive password. (The two groups touch only through the password file the
# service subscribes to, which every combination checks; the full product, 288
# catalogues, would add two minutes and nothing else.) Each combination must compile, or
# fail with the one error it should, and keep every invariant below.
describe 'autoami' do
  password = %(m@trix'pw"\\)
  stores = {
    'embedded store' => {},
    'MySQL over TCP' => { db_user: 'autoami', db_host: '127.0.0.1', db_port: 3306 },
    'MySQL over a socket' => { db_user: 'autoami', db_socket: '/run/mysqld/mysqld.sock' },
  }
  passwords = {
    'no password' => nil,
    'a String password' => password,
    'a Sensitive password' => :sensitive,
  }
  service_switches = %i[manage_service manage_nodejs manage_install manage_user]

  combinations = []
  stores.each_key do |store|
    passwords.each_key do |password_kind|
      [true, false].product([true, false]).each do |manage_db, service|
        combinations << [store, password_kind, { manage_db: manage_db }.merge(service_switches.to_h { |k| [k, service] })]
      end
    end
  end
  [['embedded store', 'no password', false], ['MySQL over a socket', 'a Sensitive password', true]].each do |store, password_kind, manage_db|
    [true, false].repeated_permutation(service_switches.length).each do |values|
      combinations << [store, password_kind, { manage_db: manage_db }.merge(service_switches.zip(values).to_h)]
    end
  end

  combinations.uniq.each do |store, password_kind, flags|
    store_params = stores.fetch(store)
    password_value = passwords.fetch(password_kind)
    database = !store_params.empty?
    with_password = database && !password_value.nil?
    title = "#{store}, #{password_kind}, " + flags.map { |k, v| "#{k} #{v ? 'on' : 'off'}" }.join(', ')

    context "with #{title}" do
      let(:params) do
        p = store_params.merge(flags)
        case password_value
        when nil then p
        when :sensitive then p.merge(db_password: sensitive(password))
        else p.merge(db_password: password_value)
        end
      end
      let(:config_file) { "#{Puppet[:confdir]}/autoami.yaml" }
      let(:dbpass_file) { "#{Puppet[:confdir]}/autoami.dbpass" }

      if flags[:manage_db] && !with_password
        it { is_expected.to compile.and_raise_error(%r{manage_db needs db_user and db_password}) }
        next
      end
      if !database && !password_value.nil?
        it { is_expected.to compile.and_raise_error(%r{db_password, db_socket and db_pool_size need db_user}) }
        next
      end

      it 'compiles and keeps every invariant' do
        aggregate_failures do
          is_expected.to compile.with_all_deps

          config = file_content(config_file)
          yaml = YAML.safe_load(config)
          expect(config).not_to include(password)
          expect(yaml.keys - sidecar_config_keys.keys).to be_empty
          expect(yaml.key?('database')).to eq(database)
          expect(yaml.dig('database', 'password_file')).to eq(with_password ? dbpass_file : nil)
          expect(yaml.dig('database', 'socket_path').nil?).to eq(!store_params.key?(:db_socket))
          is_expected.to contain_file(config_file).with(owner: 'root', group: 'puppet', mode: '0640')

          if with_password
            is_expected.to contain_file(dbpass_file).with(ensure: 'file', owner: 'autoami', mode: '0600')
            expect(catalogue.resource('File', dbpass_file).sensitive_parameters).to include(:content)
            expect(file_content(dbpass_file)).to eq("#{password}\n")
          else
            is_expected.to contain_file(dbpass_file).with_ensure('absent')
          end

          expect(catalogue.resource('Mysql::Db', 'autoami').nil?).to eq(!flags[:manage_db])
          expect(catalogue.resource('Service', 'autoami').nil?).to eq(!flags[:manage_service])
          expect(catalogue.resource('File', '/etc/systemd/system/autoami.service').nil?).to eq(!flags[:manage_service])
          expect(catalogue.resource('Package', 'nodejs').nil?).to eq(!flags[:manage_nodejs])
          expect(catalogue.resource('File', '/opt/autoami').nil?).to eq(!flags[:manage_install])
          expect(catalogue.resource('File', '/opt/autoami/runtime/bin/autoami.js')&.[](:mode)).to eq(flags[:manage_install] ? '0755' : nil)
          expect(catalogue.resource('File', '/opt/autoami/bin/autoami-autosign').nil?).to eq(!flags[:manage_install])
          expect(catalogue.resource('File', '/usr/local/bin/autoami')&.[](:mode)).to eq('0755')
          expect(catalogue.resource('Ini_subsetting', 'autoami puppet.conf reports')&.[](:subsetting)).to eq('autoami')
          expect(catalogue.resource('User', 'autoami').nil?).to eq(!flags[:manage_user])
          expect(catalogue.resource('File', '/run/autoami').nil?).to eq(flags[:manage_service])
          is_expected.to contain_file('/var/lib/autoami/spool').with(group: 'puppet', mode: '0770')
        end
      end
    end
  end
end
